"""The edge's MQTT side: drains the outbox to the broker, reports status and stats, takes config pushes.

Delivery rule: an event leaves the outbox only after the broker's PUBACK for it (QoS 1); until then
it stays pending in SQLite, so a crash, a dropped link or a broker restart can cause a duplicate
(central stores by event id) but never a loss. At most `window` events are in flight at a time.

Everything MQTT happens on one thread that owns the paho client, so callbacks, publishes and outbox
updates never race each other. The session is persistent (MQTT v5, clean_start=False): the broker
keeps the config subscription and queues pushes while the box is offline.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from common.config import EdgeConfig
from common.messages import DeviceStats, DeviceStatus, utc_now
from common.mqtt import build_client
from common.topics import TopicKind, device_topic
from edge.sync.config_applier import ConfigApplier
from edge.sync.connection import Backoff, client_id_for, connect_properties
from edge.sync.home_assistant import HomeAssistantBridge
from edge.sync.outbox import Outbox
from edge.sync.scheduler import CatchUpScheduler
from edge.sync.stats import AgentStats, SyncCounters
from edge.sync.watchlist_applier import WatchlistApplier

log = logging.getLogger(__name__)

# Room kept under the broker's Receive Maximum for status and config-ack publishes.
CONTROL_RESERVE = 2
# An event the broker refused (PUBACK failure code) is not offered again for this long.
REJECTED_HOLD_S = 30.0
SHUTDOWN_GRACE_S = 2.0
MAX_DRAIN_PACKETS = 200
# Acknowledged events are marked synced at least this often (or when half a window has gathered).
ACK_FLUSH_S = 0.05
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
        # Outboxes drained to their topics: events, and gate decisions when the box has gates.
        # Decisions go first in each refill: there are few, and alerts wait on them.
        self._streams: list[tuple[TopicKind, Outbox, CatchUpScheduler]] = []
        if decision_outbox is not None:
            self._streams.append(("decisions", decision_outbox, CatchUpScheduler(decision_outbox)))
        self._streams.append(("events", outbox, CatchUpScheduler(outbox)))
        self._watchlists = watchlist_applier
        self._home_assistant = home_assistant
        # Publishes asked for by other threads (Home Assistant state), sent from the network thread.
        self._side: queue.Queue[tuple[str, bytes, bool]] = queue.Queue(maxsize=1000)
        self._agent_version = agent_version
        self._models = dict(models or {})
        self._applier = config_applier
        self._stats_source = stats_source
        self._backoff = backoff or Backoff()
        self._idle_poll_s = idle_poll_s
        site, device = config.site_id, config.device_id
        kinds: tuple[TopicKind, ...] = (
            "events", "status", "config", "config/ack", "stats", "watchlists", "watchlists/ack", "decisions"
        )
        self._topics = {kind: device_topic(site, device, kind) for kind in kinds}
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
        # Ids are (stream index, event or decision id).
        self._inflight: dict[int, tuple[int, Hashable]] = {}  # mid -> id
        self._acked: list[tuple[int, Hashable]] = []  # acknowledged, not yet marked synced in the outbox
        self._flush_due = 0.0
        self._held: dict[tuple[int, Hashable], float] = {}  # refused id -> monotonic time it may go again
        self._window = self._mqtt.max_inflight
        self._next_attempt = 0.0
        self._next_stats = 0.0
        self._next_outbox_poll = 0.0
        self._packets_handled = 0
        self._ever_connected = False
        # Counters.
        self._connected = False
        self._published = 0
        self._acked_total = 0
        self._retries = 0
        self._rejected = 0
        self._reconnects = 0
        self._connect_failures = 0
        self._stats_sent = 0
        self._last_error: str | None = None

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

    def publish_side(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Queue a QoS 0 publish for the network thread (latest state; dropped when the queue is full)."""
        try:
            self._side.put_nowait((topic, payload, retain))
        except queue.Full:
            log.warning("side publish queue full; dropping an update for %s", topic)

    def counters(self) -> SyncCounters:
        with self._lock:
            return SyncCounters(
                connected=self._connected,
                published=self._published,
                acked=self._acked_total,
                retries=self._retries,
                rejected=self._rejected,
                reconnects=self._reconnects,
                connect_failures=self._connect_failures,
                inflight=len(self._inflight),
                window=self._window,
                stats_sent=self._stats_sent,
                last_error=self._last_error,
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
                if self._connected:
                    self._service()
                else:
                    self._flush_acked(force=True)
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
                self._connect_failures += 1
                self._last_error = f"connect to {self._mqtt.host}:{self._mqtt.port} failed: {exc}"

    def _service(self) -> None:
        while not self._side.empty():
            topic, payload, retain = self._side.get_nowait()
            self._client.publish(topic, payload, qos=0, retain=retain)
        self._flush_acked(force=False)
        self._refill()
        self._maybe_publish_stats()

    def _flush_acked(self, force: bool) -> None:
        """Mark acknowledged events synced, in batches: each batch is one durable SQLite commit.

        Waiting costs nothing in safety: an acknowledged event not yet marked is at worst sent
        again after a crash, and central drops the duplicate.
        """
        if not self._acked:
            return
        batch_full = len(self._acked) >= max(1, self._window // 2)
        if not (force or batch_full or not self._inflight or time.monotonic() >= self._flush_due):
            return
        acked, self._acked = self._acked, []
        for index, (_kind, outbox, _scheduler) in enumerate(self._streams):
            ids = [item_id for stream, item_id in acked if stream == index]
            if ids:
                outbox.mark_synced(ids)
        with self._lock:
            self._acked_total += len(acked)

    def _refill(self) -> None:
        free = self._window - len(self._inflight)
        # Refill in chunks, not one event per PUBACK: each refill costs an outbox query.
        if free <= 0 or (self._inflight and free < max(1, self._window // 2)):
            return
        now = time.monotonic()
        if now < self._next_outbox_poll:
            return  # the outbox had nothing new a moment ago; PUBACKs alone add nothing to it
        if self._held:
            self._held = {key: until for key, until in self._held.items() if until > now}
        busy = set(self._inflight.values()) | self._held.keys() | set(self._acked)
        # Should reading the outbox fail (disk error), retry calmly rather than on every loop.
        self._next_outbox_poll = now + OUTBOX_ERROR_RETRY_S
        sent = 0
        for index, (kind, _outbox, scheduler) in enumerate(self._streams):
            stream_busy = {item_id for stream, item_id in busy if stream == index}
            for item in scheduler.next_batch(free - sent, stream_busy):
                info = self._client.publish(self._topics[kind], item.payload, qos=1)
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    self._set_error(f"publish refused by the client: {mqtt.error_string(info.rc)}")
                    break
                # NO_CONN: paho keeps the message and sends it on reconnect, so it is in flight too.
                self._inflight[info.mid] = (index, item.event_id)
                sent += 1
        if sent:
            with self._lock:
                self._published += sent
        self._next_outbox_poll = 0.0 if sent else now + self._idle_poll_s

    def _maybe_publish_stats(self) -> None:
        now = time.monotonic()
        if now < self._next_stats:
            return
        self._next_stats = now + self._mqtt.stats_interval_s
        agent = self._stats_source() if self._stats_source is not None else AgentStats()
        counters = self.counters()
        stats = DeviceStats(
            site_id=self._config.site_id,
            device_id=self._config.device_id,
            at=utc_now(),
            uptime_s=now - self._started_at,
            config_version=self._running_version(),
            frames=agent.frames,
            events=agent.events,
            channels=agent.channels,
            outbox_pending=self._outbox.pending_count(),
            published=counters.published,
            acked=counters.acked,
            retries=counters.retries,
            reconnects=counters.reconnects,
        )
        self._client.publish(self._topics["stats"], stats.to_json(), qos=0)
        with self._lock:
            self._stats_sent += 1

    def _shutdown(self) -> None:
        if self._connected:
            info = self._client.publish(
                self._topics["status"], self._status("offline", "shutdown").to_json(), qos=1, retain=True
            )
            deadline = time.monotonic() + SHUTDOWN_GRACE_S
            while not info.is_published() and time.monotonic() < deadline:
                if self._client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                    break
            self._flush_acked(force=True)  # PUBACKs that arrived while we waited still count
            self._client.disconnect()  # a normal DISCONNECT: the broker drops the Last Will
            self._client.loop(timeout=0.05)
        elif self._client.socket() is not None:
            self._client.disconnect()
        self._flush_acked(force=True)
        with self._lock:
            self._connected = False

    # --- paho callbacks (run on the network thread) ------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            with self._lock:
                self._connect_failures += 1
                self._last_error = f"broker refused the connection: {reason}"
            return
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if properties is not None else None
        window = self._mqtt.max_inflight
        if receive_maximum:
            window = max(1, min(window, receive_maximum - CONTROL_RESERVE))
        self._backoff.reset()
        with self._lock:
            if self._ever_connected:
                self._reconnects += 1
            # paho re-sends, with DUP set, every event still waiting for its PUBACK.
            self._retries += len(self._inflight)
            self._connected = True
            self._window = window
            self._last_error = None
        self._ever_connected = True
        self._next_stats = 0.0  # a fresh connection reports at once
        online = self._status("online", "connected").to_json()
        client.publish(self._topics["status"], online, qos=1, retain=True)
        if self._applier is not None:
            client.subscribe(self._topics["config"], qos=1)
        if self._watchlists is not None:
            client.subscribe(self._topics["watchlists"], qos=1)
        if self._home_assistant is not None:
            for topic, payload, retain in self._home_assistant.discovery():
                client.publish(topic, payload, qos=1, retain=retain)
            for topic in self._home_assistant.command_topics():
                client.subscribe(topic, qos=1)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        with self._lock:
            was_connected = self._connected
            self._connected = False
            if not self._stop.is_set():
                self._last_error = f"disconnected: {reason}"
        if was_connected:
            self._next_attempt = time.monotonic() + self._backoff.next_delay()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any
    ) -> None:
        self._packets_handled += 1
        event_id = self._inflight.pop(mid, None)
        if event_id is None:
            return  # a status, stats or ack publish
        if reason.is_failure:
            self._held[event_id] = time.monotonic() + REJECTED_HOLD_S
            with self._lock:
                self._rejected += 1
                self._last_error = f"broker refused an event: {reason}"
            return
        if not self._acked:
            self._flush_due = time.monotonic() + ACK_FLUSH_S
        self._acked.append(event_id)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._packets_handled += 1
        if self._home_assistant is not None and message.topic.startswith(self._home_assistant.base + "/"):
            self._home_assistant.on_command(message.topic, message.payload)
            return
        if self._watchlists is not None and message.topic == self._topics["watchlists"]:
            watchlist_ack = self._watchlists.handle(message.payload)
            if watchlist_ack is not None:
                client.publish(self._topics["watchlists/ack"], watchlist_ack.to_json(), qos=1)
            return
        if self._applier is None or message.topic != self._topics["config"]:
            return
        ack = self._applier.handle(message.payload)
        if ack is not None:
            client.publish(self._topics["config/ack"], ack.to_json(), qos=1)

    # --- helpers ----------------------------------------------------------------------------------

    def _running_version(self) -> int:
        return self._applier.running_version if self._applier is not None else self._config.version

    def _status(self, state: str, reason: str) -> DeviceStatus:
        return DeviceStatus(
            site_id=self._config.site_id,
            device_id=self._config.device_id,
            state=state,  # type: ignore[arg-type]
            reason=reason,  # type: ignore[arg-type]
            at=utc_now(),
            agent_version=self._agent_version,
            config_version=self._running_version(),
            models=self._models,
        )

    def _set_error(self, message: str) -> None:
        with self._lock:
            self._last_error = message
