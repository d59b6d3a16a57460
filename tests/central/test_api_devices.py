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


def test_device_health_and_attention(api: TestClient, engine: Engine) -> None:
    channels = {
        "in": {"fps": 12.5, "frames": 600, "events": 4, "online": True, "dropped": 400},
        "out": {"fps": 0.0, "frames": 10, "events": 0, "online": False},
    }
    _ingest(
        engine,
        status_message(
            "online", site="north", device="gate1", models={"detector": "det-2", "reader": "ocr-3"}
        ),
        event_message(make_event(site="north", device="gate1", channel="in")),
        event_message(make_event(site="north", device="gate1", channel="out")),
        stats_message(
            site="north",
            device="gate1",
            channels=channels,
            outbox_pending=5000,
            disk_free_bytes=1_000,
            disk_total_bytes=100_000,
            certificate_expires_at=datetime(2026, 1, 2, tzinfo=UTC),
        ),
        status_message("offline", site="south", device="yard1"),
        status_message("online", site="east", device="fine1"),
        stats_message(site="east", device="fine1", disk_free_bytes=50_000, disk_total_bytes=100_000),
    )
    devices = {d["device_id"]: d for d in api.get("/api/v1/devices", headers=login(api, "viewer")).json()}
    gate = devices["gate1"]
    assert gate["health"]["state"] == "online" and gate["health"]["models"] == {
        "detector": "det-2",
        "reader": "ocr-3",
    }
    assert gate["health"]["outbox_pending"] == 5000 and gate["health"]["disk_free_bytes"] == 1_000
    assert [a["text"] for a in gate["health"]["attention"]] == [
        "outbox backlog 5000",
        "disk 1% free",
        "certificate expires 2026-01-02",
        "in: 40% frames dropped",
        "out: no frames",
    ]
    assert gate["health"]["attention"][3] == {
        "code": "frames_dropped",
        "text": "in: 40% frames dropped",
        "params": {"channel": "in", "percent": 40},
    }
    assert gate["health"]["certificate_expires_at"].startswith("2026-01-02")
    by_channel = {c["channel_id"]: c for c in gate["channel_health"]}
    assert (
        by_channel["in"]["fps"] == 12.5
        and by_channel["in"]["dropped"] == 400
        and by_channel["in"]["last_event_at"]
    )
    assert by_channel["out"]["delivering"] is False
    # Offline is a state of its own, not "online" in another colour; an unknown figure stays unknown.
    yard = devices["yard1"]["health"]
    assert (
        yard["state"] == "offline"
        and [a["code"] for a in yard["attention"]] == ["offline"]
        and yard["outbox_pending"] is None
    )
    assert devices["fine1"]["health"]["attention"] == []


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


def test_a_config_check_answers_the_merged_config_and_stores_nothing(api: TestClient, engine: Engine) -> None:
    _ingest(engine, status_message("online", config_version=3))
    operator, viewer = login(api, "operator"), login(api, "viewer")
    check = "/api/v1/devices/edge1/config/check"
    patch = {"tracking": {"min_reads": 4}}
    unreported = api.post(check, json=patch, headers=operator)
    assert unreported.status_code == 409 and "not reported" in unreported.json()["detail"]

    cameras = [{"id": "gate", "source": "rtsp://admin:s3cret@10.0.0.5/stream"}]
    _ingest(engine, effective_message(3, cameras=cameras))
    reported = api.get("/api/v1/devices/edge1/config", headers=viewer).json()["effective"]["config"]
    checked = api.post(check, json=patch, headers=operator)
    assert checked.status_code == 200, checked.text
    answer = checked.json()
    # The report with the patch applied, as the device would run it (version set, secrets still
    # redacted): only the named setting differs.
    assert answer["version"] == 4 and answer["config"]["tracking"]["min_reads"] == 4
    expected = {**reported, "version": 4, "tracking": {**reported["tracking"], "min_reads": 4}}
    assert answer["config"] == expected
    assert answer["config"]["cameras"][0]["source"] == "rtsp://admin:REDACTED@10.0.0.5/stream"

    invalid = api.post(check, json={"reader": {"beam_width": 0}}, headers=operator)
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "reader", "beam_width"]
    moved = api.post(check, json={"store": {"path": "/tmp/elsewhere.db"}}, headers=operator)
    assert moved.status_code == 422 and moved.json()["detail"][0]["loc"] == ["body", "store", "path"]
    assert api.post(check, json=patch, headers=viewer).status_code == 403
    assert api.post("/api/v1/devices/ghost/config/check", json={}, headers=operator).status_code == 404

    # Nothing stored, nothing audited: the history is empty and the first real push is still 4.
    assert api.get("/api/v1/devices/edge1/config", headers=viewer).json()["history"] == []
    audit = api.get("/api/v1/audit", params={"username": "oscar"}, headers=login(api, "admin")).json()
    assert {entry["action"] for entry in audit} == {"login"}
    pushed = api.patch("/api/v1/devices/edge1/config", json=patch, headers=operator).json()
    assert pushed["version"] == 4
