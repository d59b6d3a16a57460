"""Ingest through the real Mosquitto broker: ack after commit, redelivery, config push, live feed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from central_app import BROKER, login, make_central_app, require_broker, wait_for
from central_factories import effective_message, event_message, make_event
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central.app import start_ingest
from central.config import MqttSettings
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models import Event
from central.ingest.mqtt import MqttIngest
from central.ingest.writer import IngestWriter
from common.messages import ConfigPush, EventReceipt, decode_message
from common.topics import device_topic

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module", autouse=True)
def _broker_up() -> None:
    require_broker()


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def _client(client_id: str = "") -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(*BROKER)
    client.loop_start()
    return client


def _forget_session(client_id: str) -> None:
    """Remove the persistent session a test replica left on the broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(*BROKER, clean_start=True)
    client.disconnect()


@pytest.fixture
def settings() -> Iterator[MqttSettings]:
    """Unique client id and share group, so parallel test runs never take each other's messages."""
    tag = uuid.uuid4().hex[:10]
    yield MqttSettings(client_id=f"central-test-{tag}", share_group=f"test{tag}", batch_max_wait_ms=20)
    _forget_session(f"central-test-{tag}")


def _publish_events(site: str, count: int) -> list[uuid.UUID]:
    publisher = _client()
    ids = []
    for i in range(count):
        event = make_event(f"A{i:03d}BC77", site=site)
        info = publisher.publish(*event_message(event), qos=1)
        info.wait_for_publish(5)
        ids.append(event.event_id)
    publisher.disconnect()
    publisher.loop_stop()
    return ids


def test_events_flow_from_broker_to_database(sqlite_engine: Engine, settings: MqttSettings) -> None:
    ingest = MqttIngest(settings, IngestWriter(sqlite_engine))
    ingest.start()
    try:
        assert ingest.wait_connected(5)
        time.sleep(0.3)  # the SUBSCRIBE round trip
        site = f"s{uuid.uuid4().hex[:8]}"
        _publish_events(site, 50)
        assert wait_for(lambda: _count(sqlite_engine) >= 50), _count(sqlite_engine)
    finally:
        ingest.stop()


def test_central_confirms_committed_events_on_the_devices_receipts_topic(
    sqlite_engine: Engine, settings: MqttSettings
) -> None:
    site = f"s{uuid.uuid4().hex[:8]}"
    receipts: list[EventReceipt] = []
    device = _client()
    device.on_message = lambda _c, _u, message: receipts.append(decode_message(EventReceipt, message.payload))
    device.subscribe(device_topic(site, "edge1", "receipts"), qos=1)
    ingest = MqttIngest(settings, IngestWriter(sqlite_engine))
    ingest.start()
    try:
        assert ingest.wait_connected(5)
        time.sleep(0.3)  # the SUBSCRIBE round trips
        ids = _publish_events(site, 30)
        assert wait_for(lambda: sum(len(r.stored) for r in receipts) >= 30), receipts
        assert _count(sqlite_engine) == 30  # every confirmed event is in the database
    finally:
        ingest.stop()
        device.disconnect()
        device.loop_stop()
    assert sorted(i for r in receipts for i in r.stored) == sorted(ids)
    assert all(r.site_id == site and r.device_id == "edge1" and not r.conflicts for r in receipts)


def test_messages_are_acked_only_after_commit_and_redelivered_after_a_crash(
    tmp_path: Path, settings: MqttSettings
) -> None:
    # The first replica's database is not migrated: every write fails, so nothing may be acked.
    broken = make_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")
    first = MqttIngest(settings, IngestWriter(broken))
    first.start()
    assert first.wait_connected(5)
    time.sleep(0.3)
    ids = _publish_events(f"s{uuid.uuid4().hex[:8]}", 20)
    time.sleep(1.0)  # received and failing to write
    first.stop()  # "crash": the messages are still unacknowledged in our persistent session

    healthy = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    upgrade(healthy)
    second = MqttIngest(settings, IngestWriter(healthy))  # same client id: same session
    second.start()
    try:
        assert wait_for(lambda: _count(healthy) == 20), _count(healthy)
        with Session(healthy) as session:
            assert set(session.scalars(select(Event.event_id))) == set(ids)
    finally:
        second.stop()


def test_config_push_is_published_retained_and_events_reach_the_live_feed(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str, settings: MqttSettings
) -> None:
    app = make_central_app(sqlite_engine, tmp_path / "data", password_hash)
    ctx = app.state.ctx
    ctx.config = ctx.config.model_copy(update={"mqtt": settings})
    site = f"s{uuid.uuid4().hex[:8]}"
    with TestClient(app) as client:
        ingest = start_ingest(ctx)
        try:
            assert ingest.wait_connected(5)
            time.sleep(0.3)
            _publish_events(site, 1)  # the device becomes known
            assert wait_for(lambda: _count(sqlite_engine) == 1)
            assert client.get("/api/ready").json()["mqtt"] == "ok"

            operator = login(client, "operator")
            reporter = _client()  # the device reports its effective config (retained, on connect)
            reporter.publish(*effective_message(3, site=site), qos=1, retain=True).wait_for_publish(5)
            assert wait_for(
                lambda: client.get("/api/v1/devices/edge1/config", headers=operator).json()["effective"]
            )
            patch = {"cameras": [{"id": "gate", "source": "rtsp://10.0.0.5/stream"}]}
            pushed = client.patch("/api/v1/devices/edge1/config", json=patch, headers=operator).json()
            assert pushed["published"] is True

            received: list[bytes] = []
            device = _client()
            device.on_message = lambda _c, _u, message: received.append(message.payload)
            device.subscribe(device_topic(site, "edge1", "config"), qos=1)
            assert wait_for(lambda: bool(received), 5)  # retained: delivered on subscribe
            push = decode_message(ConfigPush, received[-1])
            assert push.version == pushed["version"] and push.issued_by == "oscar"
            assert push.patch == patch and push.base_hash == pushed["base_hash"]
            for kind in ("config", "config/effective"):  # clear what this test left retained
                cleared = device.publish(device_topic(site, "edge1", kind), b"", qos=1, retain=True)
                cleared.wait_for_publish(5)
            reporter.disconnect()
            device.disconnect()

            viewer_token = login(client, "viewer")["Authorization"].split()[1]
            with client.websocket_connect(f"/ws/events?site={site}&plate=A00") as websocket:
                websocket.send_json({"token": viewer_token})
                assert websocket.receive_json()["type"] == "ready"
                _publish_events(site, 2)  # plates A000BC77, A001BC77
                first = websocket.receive_json()
                second = websocket.receive_json()
            assert {first["event"]["plate_text"], second["event"]["plate_text"]} == {"A000BC77", "A001BC77"}
            assert first["event"]["site_id"] == site
        finally:
            ingest.stop()
