"""The edge's MQTT side: drains the outboxes to the broker, reports status and stats, takes config
and watchlist pushes, speaks Home Assistant discovery when enabled (edge.sync.side_channels).

Delivery rule: an event (or a gate decision, edge.sync.streams) leaves its outbox only when
central's receipt names it (an EventReceipt on the device's `receipts` topic, sent after central's
database commit). The broker's PUBACK is flow control only: at most `window` events wait for
one. An event the broker acknowledged but central did not confirm within `mqtt.receipt_timeout_s`
is sent again, with a growing delay per try (edge.sync.receipts), oldest first beside live events.
Until its receipt an event stays pending in SQLite, so a crash, a dropped link or a broker that
loses its queue can cause a duplicate (central stores by event id) but never a loss.

Everything MQTT happens on one thread that owns the paho client, so callbacks, publishes and outbox
updates never race each other. The session is persistent (MQTT v5, clean_start=False): the broker
keeps the config, watchlist and receipts subscriptions and queues pushes and receipts while the box
is offline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from common.config import EdgeConfig
from common.config_push import config_hash, redacted
from common.messages import DeviceStatus
from common.mqtt import build_client
from common.topics import TOPIC_KINDS, device_topic
from edge.sync.config_applier import ConfigApplier, effective_message
from edge.sync.connection import Backoff, client_id_for, connect_properties
from edge.sync.home_assistant import HomeAssistantBridge
from edge.sync.outbox import Outbox
from edge.sync.receipts import Confirmations, parse_receipt
from edge.sync.side_channels import SideChannels
from edge.sync.stats import AgentStats, SyncCounters, SyncTally, device_stats, device_status
from edge.sync.streams import OutboxStreams, StreamKey
from edge.sync.watchlist_applier import WatchlistApplier

log = logging.getLogger(__name__)

# Room kept under the broker's Receive Maximum for status and config-ack publishes.
CONTROL_RESERVE = 2
# An event the broker refused (PUBACK failure code) is not offered again for this long.
REJECTED_HOLD_S = 30.0
SHUTDOWN_GRACE_S = 2.0
MAX_DRAIN_PACKETS = 200
# Confirmed events are marked synced at least this often (or when half a window has gathered).
CONFIRM_FLUSH_S = 0.05
OUTBOX_ERROR_RETRY_S = 5.0


class SyncPublisher:
    def __init__(
        self,
        config: EdgeConfig,
        outbox: Outbox,
        *,
        agent_version: str,
        models: Mapping[str, str] | None = None,
        config_applier: ConfigApplier | None = None,
        decision_outbox: Outbox | None = None,
        watchlist_applier: WatchlistApplier | None = None,
        stats_source: Callable[[], AgentStats] | None = None,
        home_assistant: HomeAssistantBridge | None = None,
        backoff: Backoff | None = None,
        idle_poll_s: float = 0.1,
        client_id: str | None = None,
    ) -> None:
        if not config.mqtt.enabled:
            raise ValueError("mqtt.enabled is false: there is no broker to publish to")
        self._config = config
        self._mqtt = config.mqtt
        self._outbox = outbox
        self._streams = OutboxStreams(outbox, decision_outbox)
        self._agent_version = agent_version
        self._models = dict(models or {})
        self._applier = config_applier
        self._stats_source = stats_source
        self._backoff = backoff or Backoff()
        self._idle_poll_s = idle_poll_s
        site, device = config.site_id, config.device_id
        self._topics = {kind: device_topic(site, device, kind) for kind in TOPIC_KINDS}
        # Watchlist pushes and Home Assistant; other threads queue state with side.publish().
        self.side = SideChannels(
            self._topics["watchlists"], self._topics["watchlists/ack"], watchlist_applier, home_assistant
        )
        self._client = build_client(self._mqtt, client_id or client_id_for(site, device))
        self._client.max_inflight_messages_set(0)  # our window limits events; paho must not queue them
        self._client.will_set(
            self._topics["status"], self._status("offline", "connection-lost").to_json(), qos=1, retain=True
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

        self._lock = threading.Lock()  # guards the counters read by other threads
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = time.monotonic()
        # Network-thread state.
        # Rows are keyed (stream kind, id): an event and a decision never share a key.
        self._inflight: dict[int, StreamKey] = {}  # mid -> row, awaiting the broker's PUBACK
        self._receipts = Confirmations(
            self._mqtt.receipt_timeout_s, self._mqtt.receipt_timeout_max_s, CONFIRM_FLUSH_S
        )
        self._held: dict[Hashable, float] = {}  # refused row -> monotonic time it may go again
        self._window = self._mqtt.max_inflight
        self._next_attempt = 0.0
        self._next_stats = 0.0
        self._next_outbox_poll = 0.0
        self._packets_handled = 0
        self._ever_connected = False
        self._reported: tuple[int, str] | None = None  # (version, hash) of the last config report
        self._tally = SyncTally()  # counters, guarded by _lock

    # --- public API -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the publisher is already started")
        self._client.connect_async(
            self._mqtt.host,
            self._mqtt.port,
            keepalive=self._mqtt.keepalive_s,
            clean_start=False,
            properties=connect_properties(),
        )
        self._thread = threading.Thread(target=self._run, name="mqtt-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say offline/shutdown (so no Last Will fires), disconnect cleanly and join the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the MQTT thread did not stop within %.1f s", timeout)

    def counters(self) -> SyncCounters:
        with self._lock:
            return self._tally.snapshot(
                inflight=len(self._inflight), window=self._window, unconfirmed=len(self._receipts)
            )

    # --- network thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._client.socket() is None:
                    self._attempt_connect()
                    continue
                self._client.loop(timeout=self._idle_poll_s)
                self._drain_socket()
                if self._tally.connected:
                    self._service()
                else:
                    self._flush_confirmed(force=True)
            except Exception as exc:  # keep the thread alive: the outbox still holds everything
                log.exception("MQTT sync loop error")
                self._set_error(f"{type(exc).__name__}: {exc}")
                self._stop.wait(self._idle_poll_s)
        self._shutdown()

    def _drain_socket(self) -> None:
        # paho handles one incoming message per loop() call: take what is already waiting before
        # servicing the outbox, or a burst of config pushes costs an outbox query each.
        for _ in range(MAX_DRAIN_PACKETS):
            seen = self._packets_handled
            if self._client.loop(timeout=0) != mqtt.MQTT_ERR_SUCCESS or self._packets_handled == seen:
                return

    def _attempt_connect(self) -> None:
        now = time.monotonic()
        if now < self._next_attempt:
            self._stop.wait(min(self._next_attempt - now, 0.5))
            return
        # If this attempt fails, the next one waits; a CONNACK resets the backoff.
        self._next_attempt = now + self._backoff.next_delay()
        try:
            self._client.reconnect()
        except OSError as exc:  # refused, unreachable, TLS handshake failure, timeout
            with self._lock:
                self._tally.connect_failures += 1
                self._tally.last_error = f"connect to {self._mqtt.host}:{self._mqtt.port} failed: {exc}"

    def _service(self) -> None:
        self.side.flush(self._client)
        self._flush_confirmed(force=False)
        self._resend_overdue()
        self._refill()
        self._maybe_publish_stats()

    def _flush_confirmed(self, force: bool) -> None:
        """Mark confirmed rows synced, in batches: each batch is one durable SQLite commit per outbox.

        Waiting costs nothing in safety: a confirmed event not yet marked is at worst sent again
        after a crash, and central drops the duplicate (and confirms it again).
        """
        confirmed = self._receipts.due(force, max(1, self._window // 2), time.monotonic())
        if not confirmed:
            return
        changed = self._streams.mark_synced(confirmed)
        with self._lock:
            self._tally.confirmed += changed.get("events", 0)

    def _resend_overdue(self) -> None:
        """Rows whose receipt is overdue stop being busy: the schedulers offer them again."""
        overdue = self._receipts.tracker.expired(time.monotonic())
        if not overdue:
            return
        log.info("%d rows got no receipt from central in time; sending them again", len(overdue))
        self._streams.requeue()
        self._next_outbox_poll = 0.0
        with self._lock:
            self._tally.receipt_timeouts += len(overdue)
            self._tally.retries += len(overdue)

    def _refill(self) -> None:
        # Unconfirmed events count against max_unconfirmed: a central that is down stops new sends
        # once that many wait, rather than filling the broker's queue with the whole outbox.
        unconfirmed_room = self._mqtt.max_unconfirmed - len(self._inflight) - len(self._receipts)
        free = min(self._window - len(self._inflight), unconfirmed_room)
        # Refill in chunks, not one event per PUBACK: each refill costs an outbox query.
        if free <= 0 or (self._inflight and free < max(1, self._window // 2)):
            return
        now = time.monotonic()
        if now < self._next_outbox_poll:
            return  # the outbox had nothing new a moment ago; PUBACKs alone add nothing to it
        if self._held:
            self._held = {event_id: until for event_id, until in self._held.items() if until > now}
        busy = (
            set(self._inflight.values()) | self._held.keys() | self._receipts.busy()
        )
        # Should reading the outbox fail (disk error), retry calmly rather than on every loop.
        self._next_outbox_poll = now + OUTBOX_ERROR_RETRY_S
        batch = self._streams.next_batch(free, busy)
        sent = 0
        for item in batch:
            info = self._client.publish(self._topics[item.kind], item.payload, qos=1)
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:  # the only refusal after which paho drops it
                self._set_error(f"publish refused by the client: {mqtt.error_string(info.rc)}")
                break
            # Any other code (NO_CONN, CONN_LOST ...): paho keeps the message and sends it on
            # reconnect, so it is in flight too.
            self._inflight[info.mid] = item.key
            sent += 1
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                self._set_error(f"publish hit a lost connection: {mqtt.error_string(info.rc)}")
                break
        if sent:
            with self._lock:
                self._tally.published += sent
        self._next_outbox_poll = 0.0 if sent else now + self._idle_poll_s

    def _maybe_publish_stats(self) -> None:
        now = time.monotonic()
        if now < self._next_stats:
            return
        self._next_stats = now + self._mqtt.stats_interval_s
        if self._applier is not None:  # a local reload (SIGHUP) changes the config too: report it
            running = self._applier.current
            if (running.version, config_hash(redacted(running))) != self._reported:
                self._publish_effective_config()
        agent = self._stats_source() if self._stats_source is not None else AgentStats()
        stats = device_stats(
            self._config, now - self._started_at, self._running_version(), agent, self.counters(),
            self._outbox.pending_count(),
        )
        self._client.publish(self._topics["stats"], stats.to_json(), qos=0)
        with self._lock:
            self._tally.stats_sent += 1

    def _shutdown(self) -> None:
        if self._tally.connected:
            info = self._client.publish(
                self._topics["status"], self._status("offline", "shutdown").to_json(), qos=1, retain=True
            )
            deadline = time.monotonic() + SHUTDOWN_GRACE_S
            while not info.is_published() and time.monotonic() < deadline:
                if self._client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                    break
            self._flush_confirmed(force=True)  # receipts that arrived while we waited still count
            self._client.disconnect()  # a normal DISCONNECT: the broker drops the Last Will
            self._client.loop(timeout=0.05)
        elif self._client.socket() is not None:
            self._client.disconnect()
        self._flush_confirmed(force=True)
        with self._lock:
            self._tally.connected = False

    # --- paho callbacks (run on the network thread) ------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            with self._lock:
                self._tally.connect_failures += 1
                self._tally.last_error = f"broker refused the connection: {reason}"
            return
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if properties is not None else None
        window = self._mqtt.max_inflight
        if receive_maximum:
            window = max(1, min(window, receive_maximum - CONTROL_RESERVE))
        self._backoff.reset()
        with self._lock:
            if self._ever_connected:
                self._tally.reconnects += 1
            # paho re-sends, with DUP set, every event still waiting for its PUBACK.
            self._tally.retries += len(self._inflight)
            self._tally.connected = True
            self._window = window
            self._tally.last_error = None
        self._ever_connected = True
        self._next_stats = 0.0  # a fresh connection reports at once
        online = self._status("online", "connected").to_json()
        client.publish(self._topics["status"], online, qos=1, retain=True)
        self._publish_effective_config()
        # Receipts queued by the broker while we were away arrive once we are subscribed again.
        subscriptions = [(self._topics["receipts"], 1)]
        if self._applier is not None:
            subscriptions.append((self._topics["config"], 1))
        subscriptions.extend(self.side.on_connect(client))
        client.subscribe(subscriptions)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        with self._lock:
            was_connected = self._tally.connected
            self._tally.connected = False
            if not self._stop.is_set():
                self._tally.last_error = f"disconnected: {reason}"
        if was_connected:
            self._next_attempt = time.monotonic() + self._backoff.next_delay()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any
    ) -> None:
        self._packets_handled += 1
        event_id = self._inflight.pop(mid, None)
        if event_id is None:
            return  # a status, stats or ack publish
        # A receipt can overtake the PUBACK of a re-send: central has the event, nothing to wait for.
        if reason.is_failure:
            if not self._receipts.take_early(event_id):
                self._held[event_id] = time.monotonic() + REJECTED_HOLD_S
            with self._lock:
                self._tally.rejected += 1
                self._tally.last_error = f"broker refused an event: {reason}"
            return
        with self._lock:
            self._tally.acked += 1
        self._receipts.acknowledged(event_id, time.monotonic())

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._packets_handled += 1
        if message.topic == self._topics["receipts"]:
            self._on_receipt(message.payload)
            return
        if self.side.handle(client, message):
            return
        if self._applier is None or message.topic != self._topics["config"]:
            return
        ack = self._applier.handle(message.payload)
        if ack is not None and ack.outcome == "applied":
            self._publish_effective_config()  # before the ack: central's next push patches this one
        if ack is not None:
            client.publish(self._topics["config/ack"], ack.to_json(), qos=1)

    def _publish_effective_config(self) -> None:
        """Retained, so central learns what this device runs even if it starts after us."""
        running = self._applier.current if self._applier is not None else self._config
        report = effective_message(running)
        self._client.publish(self._topics["config/effective"], report.to_json(), qos=1, retain=True)
        self._reported = (report.version, report.hash)

    def _on_receipt(self, payload: bytes) -> None:
        receipt = parse_receipt(payload, self._config.site_id, self._config.device_id)
        if receipt is None:
            return
        for event_id in receipt.conflicts:
            # Central holds a different event under this id; sending it again cannot help.
            log.error("central refused event %s: another event with that id is stored", event_id)
        named = self._streams.named_by(receipt)
        self._receipts.receipt(named, set(self._inflight.values()), time.monotonic())
        with self._lock:
            self._tally.conflicts += len(receipt.conflicts)

    # --- helpers ----------------------------------------------------------------------------------

    def _running_version(self) -> int:
        return self._applier.running_version if self._applier is not None else self._config.version

    def _status(self, state: str, reason: str) -> DeviceStatus:
        return device_status(
            self._config, state, reason, self._agent_version, self._running_version(), self._models
        )

    def _set_error(self, message: str) -> None:
        with self._lock:
            self._tally.last_error = message
