"""The agent's Prometheus metrics.

Timings are pushed as they happen (histograms); everything that is a running count or a state
(frames, drops, decode errors, camera up, outbox size) is read from the channels at scrape time,
so the hot path only increments plain integers. Each agent has its own registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.capture.channel import CaptureStats
from edge.pipeline import WorkerStats

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class ChannelSnapshot:
    channel_id: str
    capture: CaptureStats
    dropped: int
    worker: WorkerStats


class EdgeMetrics:
    """Implements the pipeline's observer; owns the registry that /metrics serves."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.inference_seconds = Histogram(
            "anpr_inference_seconds", "Model inference time per call", ["model"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.frame_seconds = Histogram(
            "anpr_frame_latency_seconds", "Decode-to-processed time of frames that ran detection",
            ["channel"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.plate_seconds = Histogram(
            "anpr_plate_result_latency_seconds", "Decode-to-plate-reading time of frames with plates",
            ["channel"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.ocr_batch_size = Histogram(
            "anpr_ocr_batch_size", "Plate crops per reader batch",
            buckets=(1, 2, 4, 8, 16, 32, 64), registry=r,
        )
        self.events = Counter("anpr_events", "Plate events produced", ["channel"], registry=r)
        self.tracks_closed = Counter(
            "anpr_tracks_closed", "Closed plate tracks by outcome", ["channel", "verdict"], registry=r,
        )
        self.config_version = Gauge("anpr_config_version", "Version of the applied configuration", registry=r)
        self.config_reloads = Counter(
            "anpr_config_reloads", "Configuration reloads by result", ["result"], registry=r,
        )
        self.gate_decisions = Counter(
            "anpr_gate_decisions", "Gate decisions by gate, action and rule", ["gate", "action", "rule"],
            registry=r,
        )
        self.gate_output_failures = Counter(
            "anpr_gate_output_failures", "Gate decisions whose outputs failed after retries", ["gate"],
            registry=r,
        )

    # PipelineObserver
    def inference(self, model: str, seconds: float) -> None:
        self.inference_seconds.labels(model).observe(seconds)

    def frame_latency(self, channel_id: str, seconds: float, with_plates: bool) -> None:
        self.frame_seconds.labels(channel_id).observe(seconds)
        if with_plates:
            self.plate_seconds.labels(channel_id).observe(seconds)

    def verdict(self, channel_id: str, verdict: str) -> None:
        self.tracks_closed.labels(channel_id, verdict).inc()
        if verdict == "event":
            self.events.labels(channel_id).inc()

    def reader_batch(self, size: int, seconds: float) -> None:
        self.ocr_batch_size.observe(size)
        self.inference_seconds.labels("reader").observe(seconds)

    def watch(self, state: Callable[[], AgentState]) -> None:
        """Read the agent's counters and gauges through `state` at every scrape."""
        self.registry.register(_StateCollector(state))


@dataclass(frozen=True)
class AgentState:
    """What the agent knows at scrape time; optional parts are None when not running."""

    channels: list[ChannelSnapshot]
    held_events: int
    outbox_pending: int | None = None
    store: object | None = None  # edge.store.StoreStats
    sync: object | None = None  # edge.sync.SyncCounters


# Store and sync counters exported as anpr_store_* / anpr_mqtt_*: (attribute, name, help).
_STORE_COUNTERS = (
    ("events_added", "anpr_store_events_added", "Events written to the store"),
    ("add_failures_disk_full", "anpr_store_full_errors", "Event writes refused because the disk was full"),
    ("events_synced", "anpr_store_events_synced", "Events confirmed by a central receipt"),
    ("events_quarantined", "anpr_store_events_quarantined", "Rows that failed authentication, quarantined"),
    ("events_expired", "anpr_store_events_expired", "Events deleted by age"),
    ("events_evicted_for_quota", "anpr_store_events_evicted", "Events deleted to keep the disk quota"),
    ("quota_alarms", "anpr_store_quota_alarms", "Retention runs that could not meet the quota"),
)
_SYNC_COUNTERS = (
    ("published", "anpr_mqtt_published", "Event publishes sent (first sends)"),
    ("acked", "anpr_mqtt_acked", "Event publishes acknowledged by the broker (flow control only)"),
    ("confirmed", "anpr_mqtt_confirmed", "Events confirmed by a central receipt"),
    ("conflicts", "anpr_mqtt_conflicts", "Events central refused as conflicting duplicates"),
    ("retries", "anpr_mqtt_retries", "Event re-sends after a lost connection or a missing receipt"),
    ("receipt_timeouts", "anpr_mqtt_receipt_timeouts", "Events sent again because no receipt came in time"),
    ("rejected", "anpr_mqtt_rejected", "Event publishes refused by the broker"),
    ("reconnects", "anpr_mqtt_reconnects", "Broker reconnections after the first connection"),
    ("connect_failures", "anpr_mqtt_connect_failures", "Failed broker connection attempts"),
)


class _StateCollector(Collector):
    def __init__(self, state: Callable[[], AgentState]) -> None:
        self._state = state

    def collect(self) -> Iterable[Metric]:
        state = self._state()
        yield from _channel_metrics(state.channels)
        if state.outbox_pending is not None:
            yield GaugeMetricFamily(
                "anpr_outbox_pending_events", "Stored events not yet acknowledged by central",
                value=state.outbox_pending,
            )
        yield GaugeMetricFamily(
            "anpr_events_held", "Events held in memory because the store refused them",
            value=state.held_events,
        )
        for source, table in ((state.store, _STORE_COUNTERS), (state.sync, _SYNC_COUNTERS)):
            if source is not None:
                for attribute, name, doc in table:
                    yield CounterMetricFamily(name, doc, value=getattr(source, attribute, 0))
        if state.sync is not None:
            yield GaugeMetricFamily(
                "anpr_mqtt_connected", "1 while connected to the broker",
                value=1.0 if getattr(state.sync, "connected", False) else 0.0,
            )
            yield GaugeMetricFamily(
                "anpr_mqtt_inflight", "Event publishes awaiting acknowledgement",
                value=getattr(state.sync, "inflight", 0),
            )
            yield GaugeMetricFamily(
                "anpr_mqtt_unconfirmed", "Events acknowledged by the broker, awaiting central's receipt",
                value=getattr(state.sync, "unconfirmed", 0),
            )


def _channel_metrics(channels: Iterable[ChannelSnapshot]) -> Iterable[Metric]:
    def counter(name: str, doc: str) -> CounterMetricFamily:
        return CounterMetricFamily(name, doc, labels=["channel"])

    frames = counter("anpr_frames", "Frames decoded and offered to processing")
    dropped = counter("anpr_frames_dropped", "Frames replaced before processing (latest-frame policy)")
    processed = counter("anpr_frames_processed", "Frames taken by the processing worker")
    gated = counter("anpr_frames_still", "Processed frames skipped by the motion gate")
    decode_errors = counter("anpr_decode_errors", "Frames that failed to read or decode")
    undecoded = counter(
        "anpr_frames_still_undecoded", "Frames of a still scene left undecoded (capture.still_decode)"
    )
    reconnects = counter("anpr_camera_reconnects", "Successful reconnections after a lost stream")
    open_failures = counter("anpr_camera_open_failures", "Failed attempts to open a camera")
    errors = counter("anpr_processing_errors", "Frames or tracks whose processing raised")
    up = GaugeMetricFamily("anpr_camera_up", "1 while the camera stream is open", labels=["channel"])
    for snap in channels:
        labels = [snap.channel_id]
        frames.add_metric(labels, snap.capture.frames)
        dropped.add_metric(labels, snap.dropped)
        processed.add_metric(labels, snap.worker.processed)
        gated.add_metric(labels, snap.worker.gated)
        decode_errors.add_metric(labels, snap.capture.decode_errors)
        undecoded.add_metric(labels, snap.capture.skipped_still)
        reconnects.add_metric(labels, snap.capture.reconnects)
        open_failures.add_metric(labels, snap.capture.open_failures)
        errors.add_metric(labels, snap.worker.errors)
        up.add_metric(labels, 1.0 if snap.capture.up else 0.0)
    return (
        frames, dropped, processed, gated, decode_errors, undecoded, reconnects, open_failures, errors, up
    )
