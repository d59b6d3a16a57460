"""The live feed across replicas on PostgreSQL (LISTEN/NOTIFY): an event stored through one replica
reaches the WebSocket clients of every replica, each once; a listener whose connection drops
reconnects and logs it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from central_app import BROKER, login, make_central_app, require_broker, wait_for
from central_factories import event_message, make_event, status_message
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from central.app import create_app, start_ingest
from central.config import MqttSettings
from central.db.engine import make_engine
from central.db.models import Device
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from central.live_notify import IDS_PER_NOTIFY, parse_payload, payloads
from common.events import PlateEvent

pytestmark = pytest.mark.postgres


@pytest.fixture
def replicas(
    postgres_engine: Engine, tmp_path: Path, password_hash: str
) -> Iterator[tuple[TestClient, TestClient, Engine, Engine]]:
    """Two central apps on one PostgreSQL schema, each with its own engine (as two processes would
    have), sharing the JWT secret as replicas must."""
    with postgres_engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    url = postgres_engine.url.render_as_string(hide_password=False)
    other = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    app_a = make_central_app(postgres_engine, tmp_path / "data", password_hash)
    app_b = create_app(app_a.state.ctx.config, engine=other)
    with TestClient(app_a) as a, TestClient(app_b) as b:
        yield a, b, postgres_engine, other
    other.dispose()


def _store(engine: Engine, *events: PlateEvent) -> None:
    now = datetime.now(UTC)
    result = IngestWriter(engine).write([decode(*event_message(e), now) for e in events])
    assert len(result.stored) == len(events)


def _token(client: TestClient) -> str:
    return login(client, "viewer")["Authorization"].split()[1]


def test_an_event_stored_through_one_replica_reaches_every_replicas_live_clients(
    replicas: tuple[TestClient, TestClient, Engine, Engine],
) -> None:
    a, b, engine_a, _engine_b = replicas
    token = _token(a)
    with (
        a.websocket_connect(f"/ws/events?token={token}") as on_a,
        b.websocket_connect(f"/ws/events?token={token}&site=north") as on_b,
    ):
        assert on_a.receive_json()["type"] == "ready" and on_b.receive_json()["type"] == "ready"
        _store(engine_a, make_event("А111АА77", site="south"), make_event("В222ВВ77", site="north"))
        assert [on_a.receive_json()["event"]["plate_text"] for _ in range(2)] == ["А111АА77", "В222ВВ77"]
        message = on_b.receive_json()  # B's filter applies to what A stored
        assert message["type"] == "event" and message["event"]["plate_text"] == "В222ВВ77"
        assert message["event"]["crop_url"].endswith("/crop.jpg")


def test_a_listener_whose_connection_drops_reconnects(
    replicas: tuple[TestClient, TestClient, Engine, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    a, b, engine_a, _engine_b = replicas
    listener = b.app.state.ctx.listener  # type: ignore[attr-defined]
    with b.websocket_connect(f"/ws/events?token={_token(a)}") as on_b:
        assert on_b.receive_json()["type"] == "ready"
        pid = listener.backend_pid
        with caplog.at_level("WARNING", logger="central.live_notify"), engine_a.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            assert listener.wait_for_connections(2, timeout=30)
        assert "listener connection lost" in caplog.text and listener.backend_pid != pid
        _store(engine_a, make_event("Е333ЕЕ77"))
        assert on_b.receive_json()["event"]["plate_text"] == "Е333ЕЕ77"


def test_notifications_fit_the_payload_limit_and_name_every_event() -> None:
    rows: list[dict[str, Any]] = [
        {"event_id": uuid.uuid4(), "captured_at": datetime(2026, 12, 1, 0, 0, second % 60, tzinfo=UTC)}
        for second in range(IDS_PER_NOTIFY * 2 + 7)
    ]
    messages = payloads(rows)
    assert len(messages) == 3 and all(len(m.encode()) < 8000 for m in messages)
    parsed = [parse_payload(m) for m in messages]
    assert [i for ids, _earliest, _latest in parsed for i in ids] == [row["event_id"] for row in rows]
    assert all(earliest <= latest for _ids, earliest, latest in parsed)
    with pytest.raises(ValueError):
        parse_payload('{"ids": ["not-a-uuid"]}')


def _status_stored(engine: Engine, device_id: str) -> bool:
    with Session(engine) as session:
        device = session.get(Device, device_id)
        return device is not None and device.status is not None


@pytest.mark.broker
def test_the_ingesting_replicas_own_clients_see_each_event_once(
    replicas: tuple[TestClient, TestClient, Engine, Engine],
) -> None:
    require_broker()
    a, _b, _engine_a, engine_b = replicas
    ctx = a.app.state.ctx  # type: ignore[attr-defined]
    tag = uuid.uuid4().hex[:10]
    client_id = f"central-test-{tag}"
    settings = MqttSettings(client_id=client_id, share_group=f"t{tag}", batch_max_wait_ms=20)
    ctx.config = ctx.config.model_copy(update={"mqtt": settings})
    site = f"s{tag}"
    ingest = start_ingest(ctx)  # replica A takes events from the broker
    try:
        assert ingest.wait_connected(5)
        device = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        device.connect(*BROKER)
        device.loop_start()
        # A retained status reaches central whether its subscription was made before or after:
        # once it is stored, the subscription is in place and the event below cannot miss it.
        status_topic, status = status_message(site=site, device=f"d{tag}")
        device.publish(status_topic, status, qos=1, retain=True).wait_for_publish(5)
        assert wait_for(lambda: _status_stored(engine_b, f"d{tag}"))
        device.publish(status_topic, b"", qos=1, retain=True).wait_for_publish(5)
        with a.websocket_connect(f"/ws/events?token={_token(a)}&site={site}") as on_a:
            assert on_a.receive_json()["type"] == "ready"
            event = make_event("К444КК77", site=site)
            device.publish(*event_message(event), qos=1).wait_for_publish(5)
            assert on_a.receive_json()["event"]["event_id"] == str(event.event_id)
            # Stored through B next: had A's ingest also published to its hub directly, the copy
            # would come first.
            marker = make_event("М555ММ77", site=site)
            _store(engine_b, marker)
            assert on_a.receive_json()["event"]["event_id"] == str(marker.event_id)
        device.loop_stop()
        device.disconnect()
    finally:
        ingest.stop()
        if ctx.alerts is not None:
            ctx.alerts.stop()
        forget = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        forget.connect(*BROKER, clean_start=True)
        forget.disconnect()
