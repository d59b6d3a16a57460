"""Devices, sites and channels; config push with versions and acks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from central_app import login
from central_factories import (
    ack_message,
    effective_message,
    event_message,
    make_event,
    stats_message,
    status_message,
)
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

NOW = datetime.now(UTC)


def _ingest(engine: Engine, *messages: tuple[str, bytes]) -> None:
    IngestWriter(engine).write([decode(t, p, NOW) for t, p in messages])


def test_devices_sites_and_channels(api: TestClient, engine: Engine) -> None:
    _ingest(
        engine,
        status_message("online", site="north", device="gate1"),
        event_message(make_event(site="north", device="gate1", channel="in")),
        event_message(make_event(site="north", device="gate1", channel="out")),
        status_message("offline", site="south", device="yard1"),
        stats_message(site="south", device="yard1"),
    )
    headers = login(api, "viewer")
    devices = {d["device_id"]: d for d in api.get("/api/v1/devices", headers=headers).json()}
    assert devices["gate1"]["online"] is True and devices["yard1"]["online"] is False
    assert [c["channel_id"] for c in devices["gate1"]["channels"]] == ["in", "out"]
    assert devices["gate1"]["agent_version"] == "0.1.0" and devices["gate1"]["last_seen"] is not None
    assert devices["yard1"]["stats"]["frames"] == 1000
    sites = {s["site_id"]: s for s in api.get("/api/v1/sites", headers=headers).json()}
    assert (sites["north"]["devices"], sites["north"]["online"], sites["south"]["online"]) == (1, 1, 0)
    assert [
        d["device_id"] for d in api.get("/api/v1/devices", params={"site": "south"}, headers=headers).json()
    ] == ["yard1"]
    assert api.get("/api/v1/devices/gate1", headers=headers).json()["site_id"] == "north"
    channels = api.get("/api/v1/devices/gate1/channels", headers=headers).json()
    assert [c["channel_id"] for c in channels] == ["in", "out"] and channels[0]["last_event_at"]
    assert api.get("/api/v1/devices/nope", headers=headers).status_code == 404


def test_config_push_is_validated_versioned_and_acked(api: TestClient, engine: Engine) -> None:
    _ingest(engine, status_message("online", config_version=3))
    operator = login(api, "operator")
    patch = {
        "cameras": [{"id": "gate", "source": "rtsp://10.0.0.5/stream"}],
        "reader": {"countries": ["RU"]},
    }
    unreported = api.patch("/api/v1/devices/edge1/config", json=patch, headers=operator)
    assert unreported.status_code == 409 and "not reported" in unreported.json()["detail"]

    _ingest(engine, effective_message(3))
    first = api.patch("/api/v1/devices/edge1/config", json=patch, headers=operator)
    assert first.status_code == 200, first.text
    pushed = first.json()
    # The device already runs version 3 (from its report), so central's first push is 4.
    assert pushed["version"] == 4 and pushed["ack"] == "pending" and pushed["published"] is False
    reported = api.get("/api/v1/devices/edge1/config", headers=operator).json()["effective"]
    assert pushed["patch"] == patch and pushed["base_hash"] == reported["hash"]
    assert reported["version"] == 3 and reported["config"]["store"]["path"]
    second = api.patch("/api/v1/devices/edge1/config", json=patch, headers=operator).json()
    assert second["version"] == 5

    invalid = api.patch("/api/v1/devices/edge1/config", json={"reader": {"beam_width": 0}}, headers=operator)
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "reader", "beam_width"]
    foreign = api.patch("/api/v1/devices/edge1/config", json={"device_id": "edge9"}, headers=operator)
    assert foreign.status_code == 422 and foreign.json()["detail"][0]["loc"] == ["body", "device_id"]
    assert api.patch("/api/v1/devices/ghost/config", json={}, headers=operator).status_code == 404

    _ingest(engine, ack_message(4, accepted=False, reason="camera gate unreachable", running=3))
    _ingest(engine, ack_message(5, accepted=True))
    state = api.get("/api/v1/devices/edge1/config", headers=login(api, "viewer")).json()
    assert state["running_version"] == 5
    assert [(v["version"], v["ack"]) for v in state["history"]] == [(5, "applied"), (4, "rejected")]
    assert state["history"][1]["ack_reason"] == "camera gate unreachable"
    assert state["latest"]["issued_by"] == "oscar"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"mqtt": {"enabled": False}}, "mqtt.enabled"),
        ({"store": {"key_file": "/tmp/new.key"}}, "store.key_file"),
        ({"store": {"path": "/tmp/elsewhere.db"}}, "store.path"),
        ({"store": None}, "store.path"),
        ({"tracking": {"min_reads": 0}}, "tracking.min_reads"),
        ({"cameras": [{"id": "a", "source": "x"}, {"id": "a", "source": "y"}]}, "cameras"),
    ],
)
def test_a_push_the_device_would_refuse_is_refused_naming_the_field(
    api: TestClient, engine: Engine, patch: dict[str, object], field: str
) -> None:
    _ingest(engine, effective_message(3, store={"path": "/var/lib/anpr/events.db"}))
    refused = api.patch("/api/v1/devices/edge1/config", json=patch, headers=login(api, "operator"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", *field.split(".")]
    state = api.get("/api/v1/devices/edge1/config", headers=login(api, "viewer")).json()
    assert state["history"] == []  # nothing stored, nothing published


def test_a_replayed_older_report_does_not_replace_a_newer_one(api: TestClient, engine: Engine) -> None:
    _ingest(engine, effective_message(5, tracking={"min_reads": 4}))
    topic, older = effective_message(4)
    payload = json.loads(older)
    payload["at"] = "2020-01-01T00:00:00Z"
    _ingest(engine, (topic, json.dumps(payload).encode()))
    effective = api.get("/api/v1/devices/edge1/config", headers=login(api, "viewer")).json()["effective"]
    assert (effective["version"], effective["config"]["tracking"]["min_reads"]) == (5, 4)
