"""Schemathesis against the OpenAPI spec, as an operator, on SQLite and PostgreSQL: no generated
request makes a 5xx, the spec itself is valid, and every 422 body matches the spec's
HTTPValidationError.

Schemathesis' own pytest plugin does not run under pytest 9, so each operation's Hypothesis
strategy is driven directly, with data that fits the spec and data that does not (negative mode
sends NUL and control characters, wrong types, out-of-range numbers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from central_app import login, make_central_app
from central_factories import event_message, make_event, status_message
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from sqlalchemy import Engine

from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (pip install schemathesis)"
)
jsonschema_rs = pytest.importorskip("jsonschema_rs")
from schemathesis.generation.modes import GenerationMode  # noqa: E402

# Per operation and mode: 16 operations x 2 modes x 25 keeps a database's run under a minute.
EXAMPLES_PER_OPERATION = 25


@pytest.mark.slow
def test_no_generated_request_makes_a_server_error(
    engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    app = make_central_app(engine, tmp_path / "data", password_hash)
    # A known device and event, so some generated requests get past "not found".
    IngestWriter(engine).write(
        [decode(*m, datetime.now(UTC)) for m in (status_message(), event_message(make_event()))]
    )
    with TestClient(app) as client:
        headers = login(client, "operator")
        spec = client.get("/openapi.json").json()
        schema = schemathesis.openapi.from_dict(spec)
        schema.validate()  # raises if the spec is not valid OpenAPI
        validation_error = jsonschema_rs.validator_for(
            {**spec["components"]["schemas"]["HTTPValidationError"], "components": spec["components"]}
        )
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures: list[str] = []
        bad_422: list[str] = []
        cases = 0
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=EXAMPLES_PER_OPERATION,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                )
                @given(case=operation.as_strategy(mode))
                def run(case) -> None:  # type: ignore[no-untyped-def]
                    nonlocal cases
                    cases += 1
                    response = case.call(headers=headers)
                    where = f"{case.method} {case.formatted_path} {case.query!r}"
                    if response.status_code >= 500:
                        failures.append(f"{where} -> {response.status_code}")
                    if response.status_code == 422 and not validation_error.is_valid(response.json()):
                        bad_422.append(f"{where} -> {response.text[:200]}")

                try:
                    run()
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE  # nothing to break: no parameters, no body
    print(f"{engine.dialect.name}: {operations} operations, {cases} cases, {len(failures)} answered 5xx")
    assert operations >= 12
    assert failures == []
    assert bad_422 == []
