"""Helpers for the sync tests: plate events, a broker-side subscriber, waiting."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from common.config import EdgeConfig, MqttConfig
from common.events import ModelVersions, PlateEvent
from common.messages import EventReceipt
from common.plates.reading import PlateReading
from common.topics import device_topic
from edge.store.store import EventStore
from provisioning.local_broker import LocalBroker

SITE, DEVICE = "site-1", "gate.north"
_T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def make_event(index: int, channel: str = "cam1") -> PlateEvent:
    """Event number `index`; later indexes are captured later, so the outbox orders by index."""
    at = _T0 + timedelta(milliseconds=10 * index)
    return PlateEvent(
        site_id=SITE,
        device_id=DEVICE,
        channel_id=channel,
        captured_at=at,
        first_seen=at - timedelta(seconds=1),
        last_seen=at,
        plate=PlateReading(
            confidence=0.9, text=f"А{index % 1000:03d}ВС77", latin=f"A{index % 1000:03d}BC77", valid=True),
        confidence=0.9,
        box=(10, 20, 110, 45),
        frames=3,
        models=ModelVersions(detector="det-test", reader="ocr-test"),
    )


def fill(store: EventStore, start: int, count: int) -> list[PlateEvent]:
    events = [make_event(index) for index in range(start, start + count)]
    for event in events:
        store.add(event)
    return events


def edge_config(broker: LocalBroker, **mqtt_overrides: object) -> EdgeConfig:
    mqtt_config = MqttConfig(enabled=True, host=broker.host, port=broker.port, **mqtt_overrides)  # type: ignore[arg-type]
    return EdgeConfig(site_id=SITE, device_id=DEVICE, cameras=[], mqtt=mqtt_config)


class Subscriber:
    """A persistent-session QoS 1 subscriber, like central's ingest: it survives broker restarts.

    With confirm=True it answers each event (and gate decision) as central does, with an
    EventReceipt on the device's receipts topic (central's own receipts are tested in
    tests/central/test_mqtt_ingest.py).
    `confirming` can be cleared to play a central that is down while the broker is up.
    """

    def __init__(
        self, broker: LocalBroker, topic: str, client_id: str = "test-subscriber", confirm: bool = False
    ) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.confirming = threading.Event()
        if confirm:
            self.confirming.set()
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, reason, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self._subscribed.set()
        self.client.reconnect_delay_set(0.05, 0.2)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect(broker.host, broker.port, clean_start=False, properties=properties)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise TimeoutError("the test subscriber did not get its SUBACK")

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(message)
        if self.confirming.is_set() and message.topic.endswith("/events"):
            self.confirm([uuid.UUID(json.loads(message.payload)["event_id"])])
        if self.confirming.is_set() and message.topic.endswith("/decisions"):
            self.confirm([], decisions=[uuid.UUID(json.loads(message.payload)["decision_id"])])

    def confirm(
        self,
        stored: list[uuid.UUID],
        conflicts: list[uuid.UUID] | None = None,
        decisions: list[uuid.UUID] | None = None,
    ) -> None:
        receipt = EventReceipt(
            site_id=SITE, device_id=DEVICE, at=datetime.now(UTC), stored=stored, conflicts=conflicts or [],
            decisions=decisions or [],
        )
        self.client.publish(device_topic(SITE, DEVICE, "receipts"), receipt.to_json(), qos=1)

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [message.payload for message in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
