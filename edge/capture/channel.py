"""One camera's capture thread: open, read, reconnect with backoff, hand frames over one at a time.

Nothing a camera does is fatal to the agent: an unreachable source is retried with capped
exponential backoff, a frame that does not decode is counted and skipped, a stream that stops is
reopened. The state is plain counters that the metrics collector reads at scrape time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from common.config import CameraConfig, CaptureSettings
from edge.capture.frames import Frame, LatestFrameSlot, SlotClosed
from edge.capture.jpeg import JpegError
from edge.capture.scene import SceneState
from edge.capture.sources import (
    SourceSpec,
    VideoCaptureLike,
    enable_jpeg_passthrough,
    frame_count,
    open_capture,
    parse_source,
    source_fps,
)
from edge.capture.yuv import YuvPlanes

log = logging.getLogger(__name__)

# A stream that returns this many failed reads in a row is considered lost. A network read fails
# only after FFmpeg's read timeout, so two are plenty; a USB camera may hiccup more often.
MAX_READ_FAILURES = {"rtsp": 2, "http": 2, "usb": 25, "file": 3}


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * self.factor ** max(0, attempt))

    @classmethod
    def of(cls, settings: CaptureSettings) -> Backoff:
        return cls(initial_s=settings.reconnect_initial_s, max_s=settings.reconnect_max_s)


def pyav_available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def decoder_for(spec: SourceSpec, settings: CaptureSettings) -> str:
    """pyav or opencv: what `settings.decoder` means for this source. USB cameras are V4L2 devices,
    which OpenCV opens directly; `auto` uses PyAV for the rest where it is installed."""
    if settings.decoder == "auto":
        return "pyav" if spec.kind != "usb" and pyav_available() else "opencv"
    return settings.decoder


def open_source(
    spec: SourceSpec,
    settings: CaptureSettings,
    jpeg_passthrough: bool = True,
    scene: SceneState | None = None,
) -> VideoCaptureLike:
    """The source opened with the configured decoder (ImportError when pyav is asked for and missing)."""
    if decoder_for(spec, settings) == "pyav":
        from edge.capture.pyav_source import PyAvCapture

        return PyAvCapture(spec, settings, jpeg_passthrough=jpeg_passthrough, scene=scene)
    return open_capture(spec, settings)


@dataclass
class CaptureStats:
    frames: int = 0  # decoded frames offered to processing
    decode_errors: int = 0
    reconnects: int = 0  # successful opens after the first
    open_failures: int = 0
    up: bool = False
    ever_connected: bool = False
    finished: bool = False  # a non-looping file reached its end
    skipped_still: int = 0  # frames not decoded while the scene was still (capture.still_decode)


class CaptureChannel:
    """Reads one camera on its own thread into a LatestFrameSlot."""

    def __init__(
        self,
        camera: CameraConfig,
        backoff: Backoff | None = None,
        opener: Callable[[SourceSpec], VideoCaptureLike] | None = None,
    ) -> None:
        self.camera = camera
        self.spec = parse_source(camera.source)
        self.slot = LatestFrameSlot()
        self.stats = CaptureStats()
        self._backoff = backoff or Backoff.of(camera.capture)
        self._opener = opener or self._open
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"capture-{camera.id}", daemon=True)
        self._last_captured_at: datetime | None = None
        # MJPEG sources hand over their JPEG packets undecoded, unless one turned out not to be a
        # JPEG image; the channel then reopens the source and lets FFmpeg decode.
        self.jpeg_passthrough = True
        # Kept by the channel's worker: whether its motion gate has seen nothing move for a while
        # and no plate is tracked (capture.still_decode=keyframes then decodes only key frames).
        self.scene = SceneState()

    @property
    def channel_id(self) -> str:
        return self.camera.id

    @property
    def decoder(self) -> str:
        return decoder_for(self.spec, self.camera.capture)

    def _open(self, spec: SourceSpec) -> VideoCaptureLike:
        return open_source(spec, self.camera.capture, self.jpeg_passthrough, self.scene)

    @property
    def dropped(self) -> int:
        return self.slot.dropped

    @property
    def lossless(self) -> bool:
        """Unpaced file sources wait for processing instead of dropping frames."""
        return self.spec.is_file and not self.camera.realtime

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.slot.close()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        attempt = 0
        try:
            while not self._stop.is_set():
                capture = self._opener(self.spec)
                if not capture.isOpened():
                    capture.release()
                    self._note_open_failure(attempt, getattr(capture, "refusal", None))
                    self._stop.wait(self._backoff.delay(attempt))
                    attempt += 1
                    continue
                if self.stats.ever_connected:
                    self.stats.reconnects += 1
                    log.info("camera %s: reconnected to %s", self.channel_id, self.spec.describe())
                else:
                    log.info("camera %s: connected to %s", self.channel_id, self.spec.describe())
                self.stats.up = self.stats.ever_connected = True
                attempt = 0
                try:
                    outcome = self._read_stream(capture)
                finally:
                    capture.release()
                    self.stats.up = False
                if outcome == "end" and not self.camera.loop:
                    self.stats.finished = True
                    log.info("camera %s: end of %s", self.channel_id, self.spec.describe())
                    return
                if outcome == "reopen":
                    continue
                if outcome == "lost":
                    log.warning(
                        "camera %s: stream from %s lost; reconnecting", self.channel_id, self.spec.describe()
                    )
                    self._stop.wait(self._backoff.delay(0))
        except SlotClosed:
            pass
        finally:
            self.stats.up = False
            self.slot.close()

    def _note_open_failure(self, attempt: int, refusal: str | None = None) -> None:
        self.stats.up = False
        self.stats.open_failures += 1
        delay = self._backoff.delay(attempt)
        what = refusal or ("file not found or unreadable" if self.spec.is_file else "cannot connect")
        level = logging.WARNING if attempt < 3 or delay >= self._backoff.max_s else logging.DEBUG
        log.log(
            level,
            "camera %s: %s: %s (attempt %d); retrying in %.1f s",
            self.channel_id, what, self.spec.describe(), attempt + 1, delay,
        )

    def _read_stream(self, capture: VideoCaptureLike) -> str:
        """Read until the stream ends ("end"), fails ("lost"), needs decoding by FFmpeg after all
        ("reopen") or the channel stops ("stopped")."""
        jpeg = self.jpeg_passthrough and enable_jpeg_passthrough(capture, self.spec)
        jpeg_seen = False
        fps = source_fps(capture)
        total = frame_count(capture) if self.spec.is_file else 0
        min_interval = 1.0 / self.camera.fps_limit if self.camera.fps_limit else 0.0
        start_wall = datetime.now(UTC)
        if self._last_captured_at is not None:  # a reopened file must not move time backwards
            start_wall = max(start_wall, self._last_captured_at + timedelta(seconds=1.0 / fps))
        start_mono = time.monotonic()
        index = 0
        failures = 0
        skipped_packets = 0
        skipped_still = 0
        last_offered: float | None = None
        while not self._stop.is_set():
            # grab() demuxes and decodes; OpenCV's retrieve() converts to BGR, a large share of the
            # cost of a 1080p frame, so frames skipped by fps_limit are grabbed but never retrieved.
            grabbed = capture.grab()
            errors = getattr(capture, "decode_errors", 0)  # PyAV skips packets that do not decode
            if errors > skipped_packets:
                self.stats.decode_errors += errors - skipped_packets
                skipped_packets = errors
            still = getattr(capture, "skipped_still", 0)  # frames of a still scene left undecoded
            if still > skipped_still:
                self.stats.skipped_still += still - skipped_still
                index += still - skipped_still  # they still take their time in the stream
                skipped_still = still
            if not grabbed:
                ended = getattr(capture, "ended", None)
                if ended:  # PyAV tells the end of a source from a failure; a camera's end is a loss
                    return "end" if self.spec.is_file else "lost"
                at_end = total == 0 or index >= total - 1 or failures >= 3
                if self.spec.is_file and ended is None and at_end:
                    return "end"
                failures += 1
                self.stats.decode_errors += 1
                if failures >= MAX_READ_FAILURES[self.spec.kind]:
                    return "lost"
                continue
            failures = 0
            media_s = index / fps
            index += 1
            if self.spec.is_file:
                captured_at = start_wall + timedelta(seconds=media_s)
                if self.camera.realtime:
                    ahead = start_mono + media_s - time.monotonic()
                    if ahead > 0 and self._stop.wait(ahead):
                        return "stopped"
                clock = media_s
            else:
                captured_at = datetime.now(UTC)
                clock = time.monotonic() - start_mono
            if min_interval and last_offered is not None and clock - last_offered < min_interval - 1e-6:
                continue
            ok, image = capture.retrieve()
            if not ok or image is None:
                self.stats.decode_errors += 1
                continue
            try:
                now = time.monotonic()
                if isinstance(image, YuvPlanes):
                    frame = Frame(self.channel_id, index - 1, captured_at, now, yuv=image)
                elif isinstance(image, bytes):  # PyAV hands MJPEG packets on undecoded
                    frame = Frame(self.channel_id, index - 1, captured_at, now, jpeg=image)
                elif jpeg:
                    frame = Frame(self.channel_id, index - 1, captured_at, now, jpeg=image.tobytes())
                else:
                    assert isinstance(image, np.ndarray)
                    frame = Frame(self.channel_id, index - 1, captured_at, now, image)
            except JpegError as exc:
                self.stats.decode_errors += 1
                if not jpeg_seen:  # the stream's packets are not plain JPEGs: let FFmpeg decode
                    log.warning("camera %s: %s; decoding with FFmpeg instead", self.channel_id, exc)
                    self.jpeg_passthrough = False
                    return "reopen"
                continue
            jpeg_seen = True
            last_offered = clock
            self._last_captured_at = captured_at
            self.stats.frames += 1
            self.slot.put(frame, wait=self.lossless)
        return "stopped"
