"""Hostile text in every parameter: NUL and control characters are a 422, on SQLite and PostgreSQL
(PostgreSQL text cannot hold NUL; before these checks it answered 500)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from central_app import login
from central_factories import event_message, make_event, status_message
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

HOSTILE = ["a\x00b", "\x00", "edge1\x1b[2J", "x\ny", "\x7f"]


def _assert_422(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, (response.request.url, response.status_code, response.text)
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert all({"loc", "msg", "type"} <= set(item) for item in detail)


@pytest.mark.parametrize("text", HOSTILE)
def test_control_characters_in_any_text_parameter_are_422(api: TestClient, engine: Engine, text: str) -> None:
    IngestWriter(engine).write(
        [decode(*m, datetime.now(UTC)) for m in (status_message(), event_message(make_event()))]
    )
    viewer = login(api, "viewer")
    admin = login(api, "admin")
    operator = login(api, "operator")
    for path, params in (
        ("/api/v1/devices", {"site": text}),
        ("/api/v1/events", {"country": text}),
        ("/api/v1/events", {"plate": text}),
        ("/api/v1/events", {"site": text}),
        ("/api/v1/events", {"device": text}),
        ("/api/v1/events", {"channel": text}),
        ("/api/v1/events", {"cursor": text}),
    ):
        _assert_422(api.get(path, params=params, headers=viewer))
    for suffix in ("", "/config", "/channels"):
        _assert_422(api.get(f"/api/v1/devices/{quote(text)}{suffix}", headers=viewer))
    _assert_422(api.get("/api/v1/audit", params={"username": text}, headers=admin))
    _assert_422(api.patch(f"/api/v1/devices/{quote(text)}/config", json={}, headers=operator))
    _assert_422(api.post("/api/v1/auth/token", data={"username": text, "password": "x"}))
    # The same requests with clean text still work.
    assert api.get("/api/v1/devices", params={"site": "site1"}, headers=viewer).status_code == 200
    assert api.get("/api/v1/devices/edge1/config", headers=viewer).status_code == 200


def test_control_characters_in_a_pushed_config_are_422_and_nothing_is_stored(
    api: TestClient, engine: Engine
) -> None:
    IngestWriter(engine).write([decode(*status_message(), datetime.now(UTC))])
    operator = login(api, "operator")
    config = {"cameras": [{"id": "gate", "source": "rtsp://10.0.0.5/stream\x00"}]}
    response = api.patch("/api/v1/devices/edge1/config", json=config, headers=operator)
    _assert_422(response)
    assert response.json()["detail"][0]["loc"] == ["body", "cameras", 0, "source"]
    keyed = api.patch("/api/v1/devices/edge1/config", json={"reader\x01": {}}, headers=operator)
    _assert_422(keyed)
    history = api.get("/api/v1/devices/edge1/config", headers=operator).json()["history"]
    assert history == []
