"""Schemathesis against the OpenAPI spec, as an operator: no generated request makes a 5xx.

Schemathesis' own pytest plugin does not run under pytest 9, so each operation's Hypothesis
strategy is driven directly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from central_factories import event_message, make_event, status_message
from conftest import login, make_central_app
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (pip install schemathesis)"
)
EXAMPLES_PER_OPERATION = 12


@pytest.mark.slow
def test_no_generated_request_makes_a_server_error(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    app = make_central_app(sqlite_engine, tmp_path / "data", password_hash)
    # A known device and event, so some generated requests get past "not found".
    IngestWriter(sqlite_engine).write(
        [decode(*m, datetime.now(UTC)) for m in (status_message(), event_message(make_event()))]
    )
    with TestClient(app) as client:
        headers = login(client, "operator")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            @given(case=operation.as_strategy())
            def run(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

            run()
    assert operations >= 12
    assert failures == []
