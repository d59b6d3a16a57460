"""Devices, sites and channels; config push with versions and acks."""

from __future__ import annotations

from datetime import UTC, datetime

from central_factories import ack_message, event_message, make_event, stats_message, status_message
from conftest import login
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
    config = {
        "cameras": [{"id": "gate", "source": "rtsp://10.0.0.5/stream"}],
        "reader": {"countries": ["RU"]},
    }

    first = api.put("/api/v1/devices/edge1/config", json=config, headers=operator)
    assert first.status_code == 200, first.text
    pushed = first.json()
    # The device already runs version 3 (from its status), so central's first push is 4.
    assert pushed["version"] == 4 and pushed["ack"] == "pending" and pushed["published"] is False
    assert pushed["config"]["site_id"] == "site1" and pushed["config"]["device_id"] == "edge1"
    second = api.put("/api/v1/devices/edge1/config", json=config, headers=operator).json()
    assert second["version"] == 5

    invalid = api.put("/api/v1/devices/edge1/config", json={"reader": {"beam_width": 0}}, headers=operator)
    assert invalid.status_code == 422 and "reader.beam_width" in invalid.json()["detail"][0]["msg"]
    foreign = api.put("/api/v1/devices/edge1/config", json={"device_id": "edge9"}, headers=operator)
    assert foreign.status_code == 422 and "device_id" in foreign.json()["detail"][0]["msg"]
    assert api.put("/api/v1/devices/ghost/config", json={}, headers=operator).status_code == 404

    _ingest(engine, ack_message(4, accepted=False, reason="camera gate unreachable", running=3))
    _ingest(engine, ack_message(5, accepted=True))
    state = api.get("/api/v1/devices/edge1/config", headers=login(api, "viewer")).json()
    assert state["running_version"] == 5
    assert [(v["version"], v["ack"]) for v in state["history"]] == [(5, "applied"), (4, "rejected")]
    assert state["history"][1]["ack_reason"] == "camera gate unreachable"
    assert state["latest"]["issued_by"] == "oscar"
