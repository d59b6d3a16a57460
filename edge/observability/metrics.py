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

    def watch(
        self,
        channels: Callable[[], Iterable[ChannelSnapshot]],
        outbox_pending: Callable[[], int | None],
        held_events: Callable[[], int],
    ) -> None:
        self.registry.register(_StateCollector(channels, outbox_pending, held_events))


class _StateCollector(Collector):
    def __init__(
        self,
        channels: Callable[[], Iterable[ChannelSnapshot]],
        outbox_pending: Callable[[], int | None],
        held_events: Callable[[], int],
    ) -> None:
        self._channels = channels
        self._outbox_pending = outbox_pending
        self._held_events = held_events

    def collect(self) -> Iterable[Metric]:
        def counter(name: str, doc: str) -> CounterMetricFamily:
            return CounterMetricFamily(name, doc, labels=["channel"])

        frames = counter("anpr_frames", "Frames decoded and offered to processing")
        dropped = counter("anpr_frames_dropped", "Frames replaced before processing (latest-frame policy)")
        processed = counter("anpr_frames_processed", "Frames taken by the processing worker")
        gated = counter("anpr_frames_still", "Processed frames skipped by the motion gate")
        decode_errors = counter("anpr_decode_errors", "Frames that failed to read or decode")
        reconnects = counter("anpr_camera_reconnects", "Successful reconnections after a lost stream")
        open_failures = counter("anpr_camera_open_failures", "Failed attempts to open a camera")
        errors = counter("anpr_processing_errors", "Frames or tracks whose processing raised")
        up = GaugeMetricFamily("anpr_camera_up", "1 while the camera stream is open", labels=["channel"])
        for snap in self._channels():
            labels = [snap.channel_id]
            frames.add_metric(labels, snap.capture.frames)
            dropped.add_metric(labels, snap.dropped)
            processed.add_metric(labels, snap.worker.processed)
            gated.add_metric(labels, snap.worker.gated)
            decode_errors.add_metric(labels, snap.capture.decode_errors)
            reconnects.add_metric(labels, snap.capture.reconnects)
            open_failures.add_metric(labels, snap.capture.open_failures)
            errors.add_metric(labels, snap.worker.errors)
            up.add_metric(labels, 1.0 if snap.capture.up else 0.0)
        yield from (frames, dropped, processed, gated, decode_errors, reconnects, open_failures, errors, up)
        pending = self._outbox_pending()
        if pending is not None:
            yield GaugeMetricFamily(
                "anpr_outbox_pending_events", "Stored events not yet acknowledged by central", value=pending
            )
        yield GaugeMetricFamily(
            "anpr_events_held", "Events held in memory because the store refused them",
            value=self._held_events(),
        )
