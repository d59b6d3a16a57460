"""The non-event MQTT payloads: versioned, strict, and consistent with themselves."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel

from common.events import PlateEvent
from common.messages import (
    MAX_CONFIG_PUSH_BYTES,
    MAX_CONFIG_VERSION,
    MAX_RECEIPT_EVENTS,
    ChannelStats,
    ConfigAck,
    ConfigPush,
    DeviceStats,
    DeviceStatus,
    EffectiveConfig,
    EventReceipt,
    MessageError,
    decode_message,
)

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def status(**overrides: object) -> DeviceStatus:
    fields: dict[str, object] = {
        "site_id": "site-1",
        "device_id": "gate.north",
        "state": "online",
        "reason": "connected",
        "at": NOW,
        "agent_version": "0.1.0",
        "config_version": 3,
        "models": {"detector": "det-1", "reader": "ocr-1"},
    }
    fields.update(overrides)
    return DeviceStatus(**fields)  # type: ignore[arg-type]


def ack(**overrides: object) -> ConfigAck:
    fields: dict[str, object] = {
        "site_id": "site-1",
        "device_id": "gate.north",
        "version": 4,
        "accepted": True,
        "outcome": "applied",
        "running_version": 4,
        "applied_at": NOW,
    }
    fields.update(overrides)
    return ConfigAck(**fields)  # type: ignore[arg-type]


def test_every_message_round_trips_through_json() -> None:
    stats = DeviceStats(
        site_id="site-1",
        device_id="gate.north",
        at=NOW,
        uptime_s=12.5,
        frames=100,
        events=3,
        outbox_pending=1,
        published=2,
        acked=2,
        retries=0,
        reconnects=0,
        channels={"cam1": ChannelStats(fps=12.5, frames=100, events=3, online=True)},
    )
    push = ConfigPush(
        version=4, patch={"tracking": {"min_reads": 3}}, base_hash="a" * 64, issued_at=NOW, issued_by="ops"
    )
    for message in (status(), ack(), stats, push):
        assert decode_message(type(message), message.to_json()) == message
        assert json.loads(message.to_json())["schema_version"] == 1


def test_unknown_fields_are_refused_so_a_newer_contract_is_noticed() -> None:
    payload = json.loads(status().to_json())
    payload["battery"] = 0.5
    with pytest.raises(MessageError, match="battery"):
        decode_message(DeviceStatus, json.dumps(payload))


def test_a_future_schema_version_is_refused() -> None:
    payload = json.loads(ack().to_json())
    payload["schema_version"] = 2
    with pytest.raises(MessageError, match="schema_version"):
        decode_message(ConfigAck, json.dumps(payload))


def test_times_are_utc_and_naive_times_are_refused() -> None:
    moscow = timezone(timedelta(hours=3))
    assert status(at=datetime(2026, 11, 28, 13, 0, tzinfo=moscow)).at == NOW
    with pytest.raises(ValueError, match="timezone"):
        status(at=datetime(2026, 11, 28, 10, 0))


def test_status_reason_must_fit_the_state() -> None:
    assert status(state="offline", reason="connection-lost").state == "offline"
    with pytest.raises(ValueError, match="does not fit"):
        status(state="online", reason="shutdown")
    with pytest.raises(ValueError, match="does not fit"):
        status(state="offline", reason="connected")


def test_ack_fields_must_agree() -> None:
    with pytest.raises(ValueError, match="contradicts"):
        ack(accepted=False)
    with pytest.raises(ValueError, match="must give a reason"):
        ack(accepted=False, outcome="rejected", running_version=3)
    with pytest.raises(ValueError, match="running"):
        ack(running_version=3)
    stale = ack(accepted=False, outcome="stale", reason="version 4 is already running")
    assert stale.running_version == 4


def test_push_versions_are_bounded_and_must_match_the_config() -> None:
    base = "b" * 64
    same = ConfigPush(version=5, patch={"version": 5}, base_hash=base, issued_at=NOW, issued_by="ops")
    assert same.version == 5
    with pytest.raises(ValueError, match="differs"):
        ConfigPush(version=5, patch={"version": 6}, base_hash=base, issued_at=NOW, issued_by="ops")
    for bad in (0, MAX_CONFIG_VERSION + 1):
        with pytest.raises(ValueError):
            ConfigPush(version=bad, patch={}, base_hash=base, issued_at=NOW, issued_by="ops")
    with pytest.raises(ValueError, match="base_hash"):
        ConfigPush(version=5, patch={}, base_hash="not a hash", issued_at=NOW, issued_by="ops")


def test_decode_names_the_model_and_the_bad_fields() -> None:
    with pytest.raises(MessageError, match=r"ConfigPush: .*issued_at: Field required"):
        payload = {"version": 2, "patch": {}, "base_hash": "0" * 64, "issued_by": "ops"}
        decode_message(ConfigPush, json.dumps(payload))
    with pytest.raises(MessageError, match="Invalid JSON"):
        decode_message(ConfigPush, b"\xff{")


def test_oversized_payloads_are_refused_before_parsing() -> None:
    with pytest.raises(MessageError, match="too large"):
        decode_message(ConfigPush, b" " * (MAX_CONFIG_PUSH_BYTES + 1))


def test_stats_counters_cannot_be_negative_and_channel_ids_are_checked() -> None:
    base = json.loads(
        DeviceStats(
            site_id="s",
            device_id="d",
            at=NOW,
            uptime_s=1,
            frames=0,
            events=0,
            outbox_pending=0,
            published=0,
            acked=0,
            retries=0,
            reconnects=0,
        ).to_json()
    )
    with pytest.raises(MessageError, match="frames"):
        decode_message(DeviceStats, json.dumps({**base, "frames": -1}))
    bad_channel = {"cam/1": {"fps": 1.0, "frames": 1, "events": 0, "online": True}}
    with pytest.raises(MessageError, match="channels"):
        decode_message(DeviceStats, json.dumps({**base, "channels": bad_channel}))


DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"


def test_every_example_payload_in_the_mqtt_doc_is_valid() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- payload: (\w+) -->\n```json\n(.*?)```", text, flags=re.DOTALL)
    kinds: tuple[type[BaseModel], ...] = (
        PlateEvent, DeviceStatus, ConfigPush, ConfigAck, DeviceStats, EventReceipt, EffectiveConfig
    )
    models = {model.__name__: model for model in kinds}
    assert {name for name, _ in blocks} == set(models)  # every payload kind is shown
    for name, body in blocks:
        models[name].model_validate_json(body)


def test_the_subscriber_example_in_the_mqtt_doc_compiles() -> None:
    text = DOC.read_text(encoding="utf-8")
    (example,) = re.findall(r"<!-- example: subscriber -->\n```python\n(.*?)```", text, flags=re.DOTALL)
    compile(example, "docs/mqtt.md", "exec")


def test_a_receipt_names_at_least_one_event_and_at_most_the_limit() -> None:
    base = {"site_id": "s", "device_id": "d", "at": "2026-11-28T10:00:00Z"}
    with pytest.raises(MessageError, match="at least one event"):
        decode_message(EventReceipt, json.dumps(base))
    too_many = [str(uuid.uuid4()) for _ in range(MAX_RECEIPT_EVENTS + 1)]
    with pytest.raises(MessageError, match="stored"):
        decode_message(EventReceipt, json.dumps({**base, "stored": too_many}))
    ok = decode_message(EventReceipt, json.dumps({**base, "conflicts": too_many[:1]}))
    assert ok.conflicts == [uuid.UUID(too_many[0])] and ok.stored == []
