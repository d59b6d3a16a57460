"""The edge agent: the composition root that builds every part from the config and runs them.

capture (a thread per camera) -> ChannelWorker (a thread per camera: motion gate, detection,
tracking) -> ReadBatcher (one thread, OCR batched across cameras) -> EventDispatcher (one thread:
store, log, extra sinks) -> the store's outbox -> SyncPublisher (MQTT). A config reload restarts
only the cameras whose settings changed.
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2

from common.config import CameraConfig, EdgeConfig, load_edge_config
from common.events import PlateEvent
from common.gates import GateDecision
from edge.capture.channel import Backoff, CaptureChannel
from edge.events.builder import EventFactory
from edge.events.sinks import RETRY_INTERVAL_S, EventDispatcher, EventSink, LogSink
from edge.gates import GateController, load_cached_watchlists, watchlist_cache_path
from edge.inference.batching import ReadBatcher
from edge.inference.models import ModelSet, load_models
from edge.inference.protocols import PlateDetector
from edge.observability.http import ObservabilityServer
from edge.observability.metrics import AgentState, ChannelSnapshot, EdgeMetrics
from edge.observability.sdnotify import notify, watchdog_interval_s
from edge.pipeline import ChannelWorker, PipelineSettings
from edge.store.decisions import DecisionSink
from edge.store.sink import StoreSink
from edge.sync.outbox import Outbox

if TYPE_CHECKING:
    from edge.store.store import StoreStats
    from edge.sync.stats import AgentStats, SyncCounters

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 3600.0
# A worker whose loop has not turned for this long is wedged (stuck in a model or a decoder):
# the agent then reports unhealthy and stops the systemd watchdog pings, so systemd restarts it.
STALL_S = 20.0


class AgentStore(Outbox, Protocol):
    """The event store as the agent uses it: edge.store.EventStore, or a test's own."""

    stats: StoreStats

    def add(self, event: PlateEvent) -> None: ...

    def enforce_retention(self) -> object: ...

    def close(self) -> None: ...


class EventPublisher(Protocol):
    """What the agent starts, stops and reads counters from: edge.sync.SyncPublisher."""

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...

    def counters(self) -> SyncCounters: ...


class EdgeAgent:
    def __init__(
        self,
        config: EdgeConfig,
        *,
        models: ModelSet | None = None,
        store: AgentStore | None = None,
        sinks: Sequence[EventSink] = (),
        decision_listeners: Sequence[Callable[[GateDecision], None]] = (),
        config_path: Path | None = None,
        backoff: Backoff | None = None,
        serve_http: bool | None = None,
        sync: bool | None = None,
        event_retry_s: float = RETRY_INTERVAL_S,
        stall_s: float = STALL_S,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.models = models
        self.store = store
        self.metrics = EdgeMetrics()
        self._extra_sinks = list(sinks)
        self._decision_listeners = list(decision_listeners)
        self.gates: GateController | None = None
        self.decision_sink: DecisionSink | None = None
        self.watchlist_path: Path | None = None
        self._backoff = backoff
        self._event_retry_s = event_retry_s
        self._stall_s = stall_s
        self._serve_http = config.http.enabled if serve_http is None else serve_http
        self._sync_enabled = config.mqtt.enabled if sync is None else sync
        self._lock = threading.RLock()  # serialises start/stop/reload
        self._stop = threading.Event()
        self.workers: dict[str, ChannelWorker] = {}
        self.store_sink: StoreSink | None = None
        self.dispatcher: EventDispatcher | None = None
        self.batcher: ReadBatcher | None = None
        self.http: ObservabilityServer | None = None
        self.publisher: EventPublisher | None = None
        self._shared_detector_lock: AbstractContextManager[object] = threading.Lock()
        # The camera using the loaded detector itself when each has its own (one instance fewer).
        self._loaded_detector_user: str | None = None
        self._events: EventFactory | None = None
        self._housekeeping = threading.Thread(target=self._housekeep, name="housekeeping", daemon=True)
        self.started = False
        self._stats_marks: dict[str, tuple[float, int]] = {}

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Load models, open the store, start every enabled camera; raises if a model or the store fails.

        Whatever had started before the failure is stopped again before the exception propagates.
        """
        with self._lock:
            try:
                self._start()
            except BaseException:
                self._teardown()
                raise

    def _start(self) -> None:
        # Parallelism comes from a thread per camera; OpenCV's own worker pool on top of that
        # only oversubscribes a small CPU.
        cv2.setNumThreads(1)
        if self.config.logging.mask_plates:
            from common.logmask import install_log_masking

            install_log_masking(logging.getLogger())
        if self.models is None:
            self.models = load_models(self.config.detector, self.config.reader)
        if self.store is None:
            self.store = open_store(self.config)
        self.store_sink = StoreSink(self.store)
        decisions = getattr(self.store, "decisions", None)
        self.decision_sink = DecisionSink(decisions) if decisions is not None else None
        self.gates = self._open_gates()
        self.dispatcher = EventDispatcher(
            [self.store_sink, LogSink(), *self._extra_sinks], retry_interval_s=self._event_retry_s
        )
        self.dispatcher.start()
        reader_cfg = self.config.reader
        self.batcher = ReadBatcher(
            self.models.reader, reader_cfg.batch_size, reader_cfg.max_wait_ms, self.metrics.reader_batch
        )
        self.batcher.start()
        self._events = EventFactory(
            self.config.site_id, self.config.device_id, self.models.versions,
            self.config.store.keep_thumbnails,
        )
        self.metrics.watch(self.state)
        self.metrics.config_version.set(self.config.version)
        for camera in self.config.cameras:
            if camera.enabled:
                self._start_channel(camera)
        if self._serve_http:
            http = self.config.http
            self.http = ObservabilityServer(
                http.host, http.port, self.metrics.registry, self.health, self.ready
            )
            self.http.start()
        if self._sync_enabled:
            self.publisher = _start_publisher(self)
        self.started = True
        self._housekeeping.start()
        notify(f"READY=1\nSTATUS=reading {len(self.workers)} camera(s)")
        log.info("agent started: %d camera(s), models %s", len(self.workers), self.models.versions)

    def stop(self) -> None:
        """Stop cameras (their open tracks still become events), flush events to the store, close."""
        with self._lock:
            if not self.started:
                return
            notify("STOPPING=1")
            self._teardown()
            held = len(self.store_sink.held) if self.store_sink else 0
            if held:
                log.error("agent stopped with %d events the store refused (not written)", held)
            log.info("agent stopped")

    def _teardown(self) -> None:
        """Stop whatever has started, in data-flow order, so queued events still reach the store."""
        with self._lock:
            self._stop.set()
            for channel_id in list(self.workers):
                self._stop_channel(channel_id)
            if self.gates is not None:  # decisions still queued are sent and stored first
                self.gates.stop()
            if self.decision_sink is not None and self.decision_sink.retry():
                log.error("agent stopped with %d gate decisions the store refused (not written)",
                          len(self.decision_sink.held))
            if self.batcher is not None:
                self.batcher.stop()
            if self.dispatcher is not None:
                self.dispatcher.stop()
            if self.publisher is not None:
                self.publisher.stop()
            if self.http is not None:
                self.http.stop()
            if self.store is not None:
                self.store.close()
            self.started = False

    def wait_until_finished(self, timeout: float | None = None) -> bool:
        """For file sources without `loop`: wait until every channel has processed its whole file."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not all(worker.finished for worker in list(self.workers.values())):
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return self.dispatcher.drain() if self.dispatcher is not None else True

    # --- channels ----------------------------------------------------------------------------------

    def _settings(self, config: EdgeConfig) -> PipelineSettings:
        return PipelineSettings(config.detector, config.reader, config.tracking)

    def _start_channel(self, camera: CameraConfig, previous: ChannelWorker | None = None) -> None:
        assert self.models is not None and self.batcher is not None and self.dispatcher is not None
        assert self._events is not None
        capture = CaptureChannel(camera, backoff=self._backoff)
        detector, lock = self._channel_detector(self.models, camera.id)
        worker = ChannelWorker(
            capture, detector, self.batcher, self._settings(self.config), self._events,
            self.dispatcher.submit, observer=self.metrics, detector_lock=lock, gates=self.gates,
        )
        if previous is not None:  # a restarted camera still knows which plates it just reported
            worker.judge.remember(previous.judge)
        self.workers[camera.id] = worker
        worker.start()
        log.info("camera %s: started (%s, %s decoder)", camera.id, capture.spec.describe(), capture.decoder)

    def _channel_detector(
        self, models: ModelSet, channel_id: str
    ) -> tuple[PlateDetector, AbstractContextManager[object]]:
        """The detector a new channel uses, and the lock it must hold around detect().

        A thread-safe detector is shared. Otherwise each channel gets its own instance when the
        models can make one (the first channel the loaded one), and shares the one instance under
        a lock when they cannot. Sharing 2 instances among 8 channels on 2 cores doubled the p50
        latency and saved no memory once malloc arenas were capped (docs/architecture.md).
        """
        if _thread_safe(models.detector):
            return models.detector, nullcontext()
        if models.make_detector is None:
            return models.detector, self._shared_detector_lock
        if self._loaded_detector_user is None:
            self._loaded_detector_user = channel_id
            return models.detector, nullcontext()
        return models.make_detector(), nullcontext()

    def _stop_channel(self, channel_id: str) -> ChannelWorker | None:
        worker = self.workers.pop(channel_id, None)
        if worker is not None:
            worker.stop()
            # a worker wedged in detect() keeps its detector: no other channel may get it
            if self._loaded_detector_user == channel_id and not worker.is_alive():
                self._loaded_detector_user = None
            log.info("camera %s: stopped", channel_id)
        return worker

    # --- gates -----------------------------------------------------------------------------------

    def _open_gates(self) -> GateController:
        """Gate control with the cached watchlists (a box without gates gets one with none, so a
        config push can add gates without a restart)."""
        self.watchlist_path = watchlist_cache_path(self.config, self.config_path)
        lists = load_cached_watchlists(self.watchlist_path, self.config.site_id)
        return GateController(
            self.config.site_id, self.config.device_id, self.config.gate_control.gates, lists,
            self._record_decision,
        )

    def _record_decision(self, decision: GateDecision) -> None:
        """On a gate's thread: store the decision sealed (the publisher syncs it), tell listeners."""
        if self.decision_sink is not None:
            self.decision_sink.emit(decision)  # a refused write is held and retried, not lost
        else:
            log.warning("gate decision %s not stored: this store keeps no decisions", decision.decision_id)
        self.metrics.gate_decisions.labels(decision.gate_id, decision.action, decision.rule).inc()
        if not decision.outputs_ok:
            self.metrics.gate_output_failures.labels(decision.gate_id).inc()
        for listener in self._decision_listeners:
            try:
                listener(decision)
            except Exception:
                log.exception("a decision listener failed")

    def add_decision_listener(self, listener: Callable[[GateDecision], None]) -> None:
        self._decision_listeners.append(listener)

    # --- reload ----------------------------------------------------------------------------------

    def reload(self, new: EdgeConfig) -> None:
        """Apply a new config: restart only the cameras that changed, swap models if their config did.

        Raises (and keeps the old config running) when new models cannot be loaded.
        """
        with self._lock:
            old = self.config
            if not self.started:
                self.config = new
                return
            if _model_settings(new) != _model_settings(old):
                self._swap_models(new)
            for field in ("store", "http", "mqtt", "site_id", "device_id"):
                if getattr(new, field) != getattr(old, field):
                    log.warning("config: %s changed; it takes effect when the agent restarts", field)
            self.config = new
            old_cams = {c.id: c for c in old.cameras if c.enabled}
            new_cams = {c.id: c for c in new.cameras if c.enabled}
            stopped: dict[str, ChannelWorker] = {}
            for channel_id, camera in old_cams.items():
                if new_cams.get(channel_id) != camera:
                    worker = self._stop_channel(channel_id)
                    if worker is not None:
                        stopped[channel_id] = worker
            if self.gates is not None:
                self.gates.reconfigure(new.gate_control.gates)
            settings = self._settings(new)
            for worker in self.workers.values():
                worker.apply_settings(settings)
            for channel_id, camera in new_cams.items():
                if channel_id not in self.workers:
                    self._start_channel(camera, previous=stopped.get(channel_id))
            if self.batcher is not None:
                self.batcher.configure(new.reader.batch_size, new.reader.max_wait_ms)
            self.metrics.config_version.set(new.version)
            self.metrics.config_reloads.labels("applied").inc()
            log.info("config version %d applied: %d camera(s) running", new.version, len(self.workers))

    def reload_from_file(self) -> bool:
        """SIGHUP: re-read the config file; a bad file is logged and the running config kept."""
        if self.config_path is None:
            log.warning("reload requested but the agent was not started from a config file")
            return False
        try:
            new = load_edge_config(self.config_path)
            self.reload(new)
        except Exception as exc:
            self.metrics.config_reloads.labels("failed").inc()
            log.error("config reload failed; keeping the running config: %s", exc)
            return False
        return True

    def _swap_models(self, new: EdgeConfig) -> None:
        models = load_models(new.detector, new.reader)
        assert self.batcher is not None
        self.models = models
        self._shared_detector_lock = threading.Lock()
        self.batcher.reader = models.reader
        if self._events is not None:
            self._events.models = models.versions
        self._loaded_detector_user = None  # that of the old models
        for worker in self.workers.values():
            worker.use_detector(*self._channel_detector(models, worker.channel_id))
        log.info("models reloaded: %s", models.versions)

    # --- state -----------------------------------------------------------------------------------

    def state(self) -> AgentState:
        """Counters and gauges for /metrics, read at scrape time."""
        channels = [
            ChannelSnapshot(w.channel_id, w.capture.stats, w.capture.dropped, w.stats)
            for w in list(self.workers.values())
        ]
        pending: int | None = None
        if self.store is not None and self.started:
            try:
                pending = int(self.store.pending_count())
            except Exception:  # a store busy or closing must not break the scrape
                pending = None

        return AgentState(
            channels=channels,
            held_events=len(self.store_sink.held) if self.store_sink is not None else 0,
            outbox_pending=pending,
            store=self.store.stats if self.store is not None else None,
            sync=self.publisher.counters() if self.publisher is not None else None,
        )

    def agent_stats(self) -> AgentStats:
        """Frame and event counters for the sync publisher's periodic stats message."""
        from common.messages import ChannelStats
        from edge.sync.stats import AgentStats

        now = time.monotonic()
        channels: dict[str, ChannelStats] = {}
        for worker in list(self.workers.values()):
            processed = worker.stats.processed
            then, before = self._stats_marks.get(worker.channel_id, (now, processed))
            fps = (processed - before) / (now - then) if now > then else 0.0
            self._stats_marks[worker.channel_id] = (now, processed)
            channels[worker.channel_id] = ChannelStats(
                fps=round(max(0.0, fps), 2), frames=processed, events=worker.stats.verdicts["event"],
                online=worker.capture.stats.up, dropped=worker.capture.dropped,
            )
        try:
            disk = shutil.disk_usage(self.config.store.path.parent)
            free, total = disk.free, disk.total
        except OSError:  # the store's folder is gone or unreadable: report "unknown", not a guess
            free = total = None
        return AgentStats(
            frames=sum(c.frames for c in channels.values()),
            events=sum(c.events for c in channels.values()),
            channels=channels,
            disk_free_bytes=free,
            disk_total_bytes=total,
            certificate_expires_at=certificate_expiry(self.config.mqtt.cert_file),
        )

    def health(self) -> tuple[bool, dict[str, Any]]:
        now = time.monotonic()
        workers = list(self.workers.items())
        dead = sorted(cid for cid, w in workers if not w.is_alive() and not w.capture.stats.finished)
        stalled = sorted(
            cid for cid, w in workers if w.is_alive() and now - w.stats.heartbeat > self._stall_s
        )
        dispatcher_ok = self.dispatcher is not None and self.dispatcher.is_alive()
        ok = self.started and not dead and not stalled and dispatcher_ok
        detail = {
            "started": self.started, "dead_channels": dead, "stalled_channels": stalled,
            "event_dispatcher": dispatcher_ok,
        }
        return ok, detail

    def ready(self) -> tuple[bool, dict[str, Any]]:
        never = sorted(cid for cid, w in self.workers.items() if not w.capture.stats.ever_connected)
        down = sorted(
            cid for cid, w in self.workers.items() if not w.capture.stats.up and not w.capture.stats.finished
        )
        detail = {
            "models_loaded": self.models is not None,
            "store_open": self.store is not None and self.started,
            "cameras_never_connected": never,
            "cameras_down": down,
            "events_held": len(self.store_sink.held) if self.store_sink else 0,
        }
        return bool(detail["models_loaded"] and detail["store_open"] and not never), detail

    def _housekeep(self) -> None:
        watchdog = watchdog_interval_s()
        interval = min(watchdog or 10.0, 10.0)
        next_retention = time.monotonic()
        while not self._stop.wait(interval):
            if watchdog is not None and self.health()[0]:
                notify("WATCHDOG=1")
            if self.decision_sink is not None and self.decision_sink.held:
                self.decision_sink.retry()
            if time.monotonic() >= next_retention  and self.store is not None:
                next_retention = time.monotonic() + RETENTION_INTERVAL_S
                try:
                    self.store.enforce_retention()
                except Exception as exc:
                    log.error("retention pass failed: %s", exc)


def _model_settings(config: EdgeConfig) -> tuple[object, ...]:
    reader = config.reader
    return config.detector, reader.path, reader.runtime, reader.beam_width, reader.countries, reader.band


def _thread_safe(detector: object) -> bool:
    """ONNX Runtime sessions may run from many threads at once; an OpenVINO infer request may not."""
    return bool(getattr(detector, "thread_safe", False))


def agent_version() -> str:
    try:
        return importlib.metadata.version("anpr")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def certificate_expiry(path: Path | None) -> datetime | None:
    """notAfter of the PEM certificate at `path`; None without one or when it cannot be read."""
    if path is None:
        return None
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc
    except (OSError, ValueError) as exc:
        log.warning("cannot read the MQTT client certificate %s: %s", path, exc)
        return None


def open_store(config: EdgeConfig) -> AgentStore:
    """The encrypted event store named by the config, its key loaded (or created on first run)."""
    from edge.store import EventStore

    config.store.path.parent.mkdir(parents=True, exist_ok=True)
    return EventStore.from_config(config.store)


def _start_publisher(agent: EdgeAgent) -> EventPublisher:
    from edge.sync.wiring import start_sync

    assert agent.models is not None and agent.store is not None
    return start_sync(
        agent.config, config_path=agent.config_path, outbox=agent.store,
        decision_outbox=getattr(agent.store, "decisions", None), agent_version=agent_version(),
        models={"detector": agent.models.versions.detector, "reader": agent.models.versions.reader},
        reload=agent.reload, running=lambda: agent.config, stats_source=agent.agent_stats, gates=agent.gates,
        watchlist_path=agent.watchlist_path, add_decision_listener=agent.add_decision_listener,
    )
