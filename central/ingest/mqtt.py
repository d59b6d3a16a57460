"""The MQTT side of ingest: subscribe, batch, write, and acknowledge only after the commit.

paho runs its network loop in its own thread and hands each message to `_on_message`, which
decodes and queues it. Writer threads (`writers`) drain the queue in batches, commit them, send
each device a receipt naming its committed events and gate decisions (the device keeps each until
then), then send PUBACK for every message of the batch (manual_ack). A crash before the commit
leaves the messages unacknowledged in our persistent session, so the broker delivers them again;
the writer's ON CONFLICT DO NOTHING makes the redelivery harmless.

Packet ids are only meaningful on the connection that delivered them: after a reconnect the
broker resends unacknowledged messages itself, so acks for an older connection are dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from central import metrics
from central.config import MqttSettings
from central.ingest.decode import (
    DEFAULT_CAPTURE_WINDOW,
    CaptureWindow,
    Decoded,
    StatusRecord,
    decode,
    reject,
)
from central.ingest.writer import BatchResult, IngestWriter
from common.gates import GateDecision
from common.messages import DeviceStatus
from common.mqtt import build_client
from common.topics import (
    CENTRAL_CONFIG_ACK_SUBSCRIPTION,
    CENTRAL_EFFECTIVE_CONFIG_SUBSCRIPTION,
    CENTRAL_EVENTS_PLAIN_SUBSCRIPTION,
    CENTRAL_EVENTS_SUBSCRIPTION,
    CENTRAL_STATS_SUBSCRIPTION,
    CENTRAL_STATUS_SUBSCRIPTION,
    CENTRAL_WATCHLIST_ACK_SUBSCRIPTION,
    device_topic,
    parse_device_topic,
)

log = logging.getLogger(__name__)
# Device news every replica applies (idempotent updates), unlike events, which replicas share.
DEVICE_SUBSCRIPTIONS = (
    CENTRAL_STATUS_SUBSCRIPTION,
    CENTRAL_CONFIG_ACK_SUBSCRIPTION,
    CENTRAL_EFFECTIVE_CONFIG_SUBSCRIPTION,
    CENTRAL_STATS_SUBSCRIPTION,
    CENTRAL_WATCHLIST_ACK_SUBSCRIPTION,
)


def decisions_subscription(share_group: str | None) -> str:
    """Gate decisions, shared between replicas like events (each is stored and alerted on once)."""
    events = events_subscription(share_group)
    return events[: -len("events")] + "decisions"


def events_subscription(share_group: str | None) -> str:
    """The events subscription: shared within `share_group` (group 'central' gives common.topics'
    CENTRAL_EVENTS_SUBSCRIPTION), or plain for a single replica."""
    if share_group is None:
        return CENTRAL_EVENTS_PLAIN_SUBSCRIPTION
    return CENTRAL_EVENTS_SUBSCRIPTION.replace("$share/central/", f"$share/{share_group}/", 1)


RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)

StoredCallback = Callable[[list[dict[str, Any]]], None]
DecisionsCallback = Callable[[list[GateDecision]], None]
StatusCallback = Callable[[list[DeviceStatus]], None]


@dataclass(frozen=True)
class _Received:
    topic: str
    record: Decoded
    mid: int
    qos: int
    generation: int


def _topic_of(message: mqtt.MQTTMessage) -> str:
    try:
        return message.topic
    except UnicodeDecodeError:
        return repr(message._topic)  # the raw bytes, so the dead letter still says where it came from


def _kind_label(topic: str) -> str:
    try:
        return parse_device_topic(topic).kind
    except ValueError:
        return "unknown"


class MqttIngest:
    """One central replica's connection to the broker: ingest and config publishing."""

    def __init__(
        self,
        settings: MqttSettings,
        writer: IngestWriter,
        on_stored: StoredCallback | None = None,
        on_decisions: DecisionsCallback | None = None,
        on_statuses: StatusCallback | None = None,
        on_connected: Callable[[], None] | None = None,
        capture_window: CaptureWindow = DEFAULT_CAPTURE_WINDOW,
    ) -> None:
        self.settings = settings
        self.capture_window = capture_window
        self.writer = writer
        self.on_stored = on_stored
        self.on_decisions = on_decisions  # newly stored gate decisions, for the alert senders
        self.on_statuses = on_statuses  # device status messages, for offline alerts
        self.on_connected = on_connected
        self._queue: queue.Queue[_Received] = queue.Queue()
        self._stopping = threading.Event()
        self._generation = 0
        self._connected = threading.Event()
        self._threads: list[threading.Thread] = []
        self.client = self._make_client()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = build_client(s, s.client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.session_expiry_s
        properties.ReceiveMaximum = self.settings.receive_maximum
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()
        writers = self.settings.writers or (2 if self.writer.engine.dialect.name == "postgresql" else 1)
        for number in range(writers):
            thread = threading.Thread(
                target=self._run_writer, name=f"central-ingest-writer-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, then disconnect; queued but unwritten messages stay unacked."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish_retained(self, topic: str, payload: bytes, timeout: float = 5.0) -> bool:
        """Publish a retained QoS 1 message and wait for the broker's PUBACK."""
        if not self.connected:
            return False
        info = self.client.publish(topic, payload, qos=1, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    # paho callbacks (network thread)

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self._generation += 1
        share = self.settings.share_group
        topics = (events_subscription(share), decisions_subscription(share), *DEVICE_SUBSCRIPTIONS)
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in topics])
        self._connected.set()
        metrics.MQTT_CONNECTED.set(1)
        log.info("connected to %s:%s", self.settings.host, self.settings.port)
        if self.on_connected is not None:
            threading.Thread(target=self.on_connected, name="central-on-connected", daemon=True).start()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected.clear()
        metrics.MQTT_CONNECTED.set(0)
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Decoding here, in paho's thread, overlaps validation with the writer's wait on the database.
        topic = _topic_of(message)
        try:
            record = decode(topic, message.payload, datetime.now(UTC), self.capture_window)
        except Exception as exc:  # a decoder bug must not stop paho's thread; keep the message
            log.exception("decoding a message on %s failed", topic)
            record = reject(topic, "invalid", f"decoder error: {type(exc).__name__}", message.payload)
        self._queue.put(_Received(topic, record, message.mid, message.qos, self._generation))
        metrics.INGEST_QUEUE.inc()

    # writer thread

    def _next_batch(self) -> list[_Received]:
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.settings.batch_max_wait_ms / 1000
        while len(batch) < self.settings.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _run_writer(self) -> None:
        while not self._stopping.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            try:
                self._handle(batch)
            except Exception:  # keep ingesting; the batch's messages stay unacked and come back
                log.exception("handling a batch of %d messages failed", len(batch))

    def _send_receipts(self, result: BatchResult) -> None:
        """Confirm the committed events and decisions to their devices, before the PUBACKs of their messages.

        QoS 1 to the device's persistent session: an offline device gets them when it is back.
        Should one be lost (a crash right now), the device sends the event again after its
        receipt timeout and the duplicate is confirmed then.
        """
        for receipt in result.receipts.messages(datetime.now(UTC)):
            topic = device_topic(receipt.site_id, receipt.device_id, "receipts")
            info = self.client.publish(topic, receipt.to_json(), qos=1)
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                log.warning("receipt for %s/%s refused by the client", receipt.site_id, receipt.device_id)
                continue
            metrics.RECEIPTS_SENT.inc()
            metrics.EVENTS_CONFIRMED.inc(len(receipt.stored) + len(receipt.conflicts))
            metrics.DECISIONS_CONFIRMED.inc(len(receipt.decisions))

    def _handle(self, batch: list[_Received]) -> None:
        decoded = [item.record for item in batch]
        for item in batch:
            metrics.MESSAGES_RECEIVED.labels(_kind_label(item.topic)).inc()
        attempt = 0
        while True:
            try:
                result = self.writer.write(decoded)
                break
            except Exception:
                metrics.INGEST_ERRORS.inc()
                delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
                log.exception("writing a batch of %d messages failed; retrying in %.1f s", len(batch), delay)
                attempt += 1
                if self._stopping.wait(delay):
                    return  # unacknowledged: the broker delivers them again after restart
        try:
            self._send_receipts(result)
        except Exception:  # the events are committed: ack them; the devices re-send and get receipts then
            log.exception("sending receipts for a batch of %d messages failed", len(batch))
        generation = self._generation
        for item in batch:
            if item.qos > 0 and item.generation == generation:
                self.client.ack(item.mid, item.qos)
        metrics.INGEST_QUEUE.dec(len(batch))
        statuses = [item.record.status for item in batch if isinstance(item.record, StatusRecord)]
        if self.on_statuses is not None and statuses:
            try:
                self.on_statuses(statuses)
            except Exception:
                log.exception("handing device status to the alert senders failed")
        if self.on_decisions is not None and result.decisions:
            try:
                self.on_decisions([record.decision for record in result.decisions])
            except Exception:  # alert senders keep their own queue; the decisions are stored and acked
                log.exception("handing decisions to the alert senders failed")
        if self.on_stored is not None and result.stored:
            try:
                self.on_stored(result.stored)
            except Exception:  # the live feed is best effort; the events are stored and acked
                log.exception("live feed update failed")
