"""One channel's processing: frame -> motion gate -> detect -> track -> read (batched) -> judge -> event.

A worker thread per channel takes the newest frame from its capture slot, so a slow model makes
the capture side drop frames instead of queueing them. Tracking uses frame times, so the events
of a file are the same however fast it is processed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from common.config import CameraConfig, DetectorConfig, ReaderConfig, TrackingConfig
from common.events import PlateEvent
from common.plates.reading import PlateReading
from edge.capture.channel import CaptureChannel
from edge.capture.frames import Frame
from edge.capture.jpeg import JpegError
from edge.capture.motion import MotionGate, gate_factor
from edge.events.builder import EventFactory
from edge.inference.batching import ReadBatcher
from edge.inference.crops import read_plates
from edge.inference.protocols import PlateDetection, PlateDetector, ViewPlateDetector
from edge.tracking.passages import PassageJudge
from edge.tracking.tracker import Observation, PlateTracker, Track

log = logging.getLogger(__name__)

# Once this many confident readings of a track agree, its later frames are not read again.
SETTLED_READS = 6
# A scene counts as still (capture.still_decode) once nothing moved and nothing was tracked this long.
STILL_AFTER_S = 1.0


class PipelineObserver(Protocol):
    def inference(self, model: str, seconds: float) -> None: ...
    def frame_latency(self, channel_id: str, seconds: float, with_plates: bool) -> None: ...
    def verdict(self, channel_id: str, verdict: str) -> None: ...


class GateHook(Protocol):
    """Gate control (edge.gates.GateController): offered each new reading of a track on its channels."""

    def watches(self, channel_id: str) -> bool: ...

    def consider(
        self,
        channel_id: str,
        track_id: int,
        reading: PlateReading,
        captured_at: datetime,
        received_monotonic: float,
        crop: np.ndarray | None = None,
        done: set[str] | None = None,
    ) -> bool: ...


class NullObserver:
    def inference(self, model: str, seconds: float) -> None:
        return None

    def frame_latency(self, channel_id: str, seconds: float, with_plates: bool) -> None:
        return None

    def verdict(self, channel_id: str, verdict: str) -> None:
        return None


@dataclass
class WorkerStats:
    processed: int = 0  # frames the worker took from the slot
    gated: int = 0  # of those, skipped by the motion gate
    detections: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    # Recent frame-to-result latencies of frames with plates, for the benchmark's percentiles.
    plate_latencies: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    errors: int = 0
    heartbeat: float = field(default_factory=time.monotonic)  # last turn of the worker loop


@dataclass
class PipelineSettings:
    """The parts of the config a worker reads on every frame; replaced whole on reload."""

    detector: DetectorConfig
    reader: ReaderConfig
    tracking: TrackingConfig


class ChannelWorker:
    def __init__(
        self,
        capture: CaptureChannel,
        detector: PlateDetector,
        batcher: ReadBatcher,
        settings: PipelineSettings,
        events: EventFactory,
        emit: Callable[[PlateEvent], None],
        observer: PipelineObserver | None = None,
        detector_lock: AbstractContextManager[object] | None = None,
        gates: GateHook | None = None,
    ) -> None:
        self.capture = capture
        self.detector = detector
        self.batcher = batcher
        self.settings = settings
        self.events = events
        self._emit = emit
        self._observer = observer or NullObserver()
        self._detector_lock = detector_lock or nullcontext()
        self.gates = gates
        self.stats = WorkerStats()
        self.gate = MotionGate(self.camera.motion_threshold)
        self.tracker = PlateTracker(settings.tracking.iou_threshold, settings.tracking.max_age_s)
        self.judge = PassageJudge(
            settings.tracking, settings.reader.min_confidence, settings.reader.require_valid
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"worker-{self.channel_id}", daemon=True)
        self._media_origin: datetime | None = None
        self._still_since: float | None = None  # media time since which the scene has been still
        self._seen_resumes = 0  # the decoder's resumes this worker has taken note of

    @property
    def camera(self) -> CameraConfig:
        return self.capture.camera

    @property
    def channel_id(self) -> str:
        return self.capture.channel_id

    def start(self) -> None:
        self.capture.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop capture and processing; tracks in progress are closed and judged, not lost."""
        self._stop.set()
        self.capture.stop(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """The source ended (a non-looping file) and every frame of it has been processed."""
        return self.capture.stats.finished and not self._thread.is_alive()

    def use_detector(self, detector: PlateDetector, lock: AbstractContextManager[object]) -> None:
        self.detector = detector
        self._detector_lock = lock

    def apply_settings(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self.tracker.iou_threshold = settings.tracking.iou_threshold
        self.tracker.max_age_s = settings.tracking.max_age_s
        self.judge.tracking = settings.tracking
        self.judge.min_confidence = settings.reader.min_confidence
        self.judge.require_valid = settings.reader.require_valid

    def _run(self) -> None:
        last_time: datetime | None = None
        last_mono = time.monotonic()
        while True:
            self.stats.heartbeat = time.monotonic()
            frame = self.capture.slot.take(timeout=0.5)
            if frame is None:
                if self.capture.slot.closed or self._stop.is_set():
                    break
                if last_time is not None:  # no frames (camera down): close tracks by the clock
                    idle = timedelta(seconds=time.monotonic() - last_mono)
                    self._close(self.tracker.expire(last_time + idle))
                continue
            last_time, last_mono = frame.captured_at, time.monotonic()
            try:
                self._process(frame)
            except JpegError as exc:  # a corrupt camera frame: counted like one FFmpeg cannot decode
                self.capture.stats.decode_errors += 1
                log.debug("channel %s: frame %d does not decode: %s", self.channel_id, frame.index, exc)
            except Exception:  # a frame that breaks a model must not end the channel
                self.stats.errors += 1
                log.exception("channel %s: processing frame %d failed", self.channel_id, frame.index)
        self._close(self.tracker.flush())

    def _process(self, frame: Frame) -> None:
        self.stats.processed += 1
        if self._media_origin is None:
            self._media_origin = frame.captured_at
        media_s = (frame.captured_at - self._media_origin).total_seconds()
        # One reduced grey view serves the motion gate and the detector: a JPEG frame is decoded
        # at full size only if a plate is then read from it.
        detector = self.detector  # replaced in place by a config reload
        takes_view = isinstance(detector, ViewPlateDetector)
        factor = detector.view_factor(frame.hw) if takes_view else gate_factor(frame.hw)
        view, reduction = frame.gray_view(factor)
        moving = self.gate.should_process(view, media_s)
        self._note_stillness(media_s)
        if not moving and not self.tracker.tracks:  # a car stopped at the gate is still looked at
            self.stats.gated += 1
            self._close(self.tracker.expire(frame.captured_at))
            return
        detections = self._detect(detector, frame, view if takes_view else None, reduction)
        tracks = self.tracker.update(detections, frame.captured_at)
        to_read = [
            (det, track)
            for det, track in zip(detections, tracks, strict=True)
            if not track.settled(SETTLED_READS)
        ]
        if to_read:
            self._read(frame, to_read)
        self._observer.frame_latency(
            self.channel_id, time.monotonic() - frame.received_monotonic, with_plates=bool(to_read)
        )
        if to_read:
            self.stats.plate_latencies.append(time.monotonic() - frame.received_monotonic)
        self._close(self.tracker.expire(frame.captured_at))

    def _note_stillness(self, media_s: float) -> None:
        """Tell the decoder whether the scene is still: the gate saw under its threshold of change
        and no plate is tracked, for STILL_AFTER_S (its forced periodic detections do not count).
        When the decoder resumed on a packet's size, stillness is judged anew from this frame."""
        scene = self.capture.scene
        threshold = self.camera.motion_threshold
        resumed = scene.resumes != self._seen_resumes
        self._seen_resumes = scene.resumes
        if resumed or threshold <= 0 or self.tracker.tracks or self.gate.last_changed_fraction >= threshold:
            self._still_since = None
            scene.still = False
            return
        if self._still_since is None:
            self._still_since = media_s
        if not scene.still and media_s - self._still_since >= STILL_AFTER_S:
            scene.epoch += 1
            scene.still = True

    def _detect(
        self, detector: PlateDetector, frame: Frame, view: np.ndarray | None, reduction: int
    ) -> list[PlateDetection]:
        started = time.perf_counter()
        with self._detector_lock:
            if view is not None and isinstance(detector, ViewPlateDetector):
                found = detector.detect_view(view, reduction, frame.hw)
            else:
                found = detector.detect(frame.image)
        self._observer.inference("detector", time.perf_counter() - started)
        h, w = frame.hw
        settings = self.settings.detector
        roi = self.camera.roi
        kept: list[PlateDetection] = []
        for det in found:
            x1, y1, x2, y2 = det.box
            if det.score < settings.score_threshold or x2 - x1 < settings.min_plate_width:
                continue
            if roi is not None:
                cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
                if not (roi[0] <= cx <= roi[2] and roi[1] <= cy <= roi[3]):
                    continue
            kept.append(det)
        self.stats.detections += len(kept)
        return kept

    def _read(self, frame: Frame, items: list[tuple[PlateDetection, Track]]) -> None:
        track_of = {id(det): track for det, track in items}  # detections are distinct objects
        reader = self.settings.reader
        detections = [det for det, _ in items]
        # A video frame is converted to BGR only around the plates; JPEG frames decode whole.
        image = frame.bgr_around([det.box for det in detections])
        results = read_plates(self.batcher.read, image, detections, reader.views, reader.extra_views)
        for det, crop, reading in results:
            if not reading.latin:
                continue
            observation = Observation(reading, det, frame.captured_at, crop, frame)
            track = track_of[id(det)]
            track.add_reading(reading, observation)
            gates = self.gates
            # The gate decides on the first good reading, not at the end of the track: the car is
            # waiting at the barrier. consider() only queues the command, the frame goes on.
            if gates is not None and not track.gate_decided and gates.watches(self.channel_id):
                track.gate_decided = gates.consider(
                    self.channel_id, track.id, reading, frame.captured_at, frame.received_monotonic, crop,
                    done=track.gates_done,
                )

    def _close(self, tracks: list[Track]) -> None:
        for track in tracks:
            verdict, passage = self.judge.judge(track)
            self.stats.verdicts[verdict] += 1
            self._observer.verdict(self.channel_id, verdict)
            if passage is None:
                continue
            try:
                event = self.events.build(self.channel_id, passage)
            except Exception:
                self.stats.errors += 1
                log.exception("channel %s: building the event of track %d failed", self.channel_id, track.id)
                continue
            log.info("channel %s: event %s (%d readings)", self.channel_id, event.event_id, event.frames)
            self._emit(event)

