"""The agent with MQTT enabled: its events leave through the store's outbox to the broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from agent_helpers import make_agent, make_config, open_test_store, wait_for
from edge_scene import Passing, write_clip

from common.events import PlateEvent
from common.messages import EventReceipt, utc_now
from common.topics import device_topic
from provisioning.local_broker import LocalBroker, find_mosquitto

pytestmark = pytest.mark.broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.stop()


def test_events_reach_the_broker_and_leave_the_outbox(tmp_path: Path, broker: LocalBroker) -> None:
    received: list[bytes] = []
    subscribed = threading.Event()
    topic = device_topic("depot", "box7", "events")

    def confirm(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        # Plays central: each event is answered with a receipt, which takes it out of the outbox.
        received.append(message.payload)
        event = PlateEvent.from_json(message.payload)
        receipt = EventReceipt(site_id="depot", device_id="box7", at=utc_now(), stored=[event.event_id])
        c.publish(device_topic("depot", "box7", "receipts"), receipt.to_json(), qos=1)

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ingest", protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, u, f, reason, p: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
    client.on_message = confirm
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert subscribed.wait(10)

    clip = write_clip(tmp_path / "two.avi", [Passing("red", 0, 30), Passing("blue", 45, 30)], total_frames=80)
    config = make_config(
        tmp_path,
        [{"id": "gate", "source": str(clip)}],
        site_id="depot",
        device_id="box7",
        mqtt={"enabled": True, "host": broker.host, "port": broker.port},
    )
    store = open_test_store(tmp_path / "e.db")
    agent = make_agent(config, store)
    agent.start()
    try:
        assert agent.wait_until_finished(60)
        assert wait_for(lambda: len(received) == 2 and store.pending_count() == 0, timeout=30)
        assert agent.state().sync.acked == 2  # type: ignore[union-attr]
        assert agent.state().sync.confirmed == 2  # type: ignore[union-attr]
    finally:
        agent.stop()
        client.loop_stop()
        client.disconnect()
    plates = sorted(PlateEvent.from_json(payload).plate.latin for payload in received)
    assert plates == ["A123BC77", "O789PT50"]
