"""Network cameras and video files through PyAV (FFmpeg's libraries): frames handed on as YUV planes.

cv2.VideoCapture converts every decoded frame to BGR, which for 1080p H.264 costs more than a
third of the decode. Here the decoder's YUV planes are handed on as they are (edge.capture.yuv),
and MJPEG packets as the camera's JPEG bytes (edge.capture.jpeg decodes them at reduced scale),
so nothing converts a whole frame unless an event needs its thumbnail.

The object offers the few cv2.VideoCapture calls the capture channel uses (isOpened, grab,
retrieve, get, release), so one read loop serves both decoders.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections import deque
from typing import Any

import av
import av.error
import cv2
import numpy as np
from av.codec.hwaccel import HWAccel, hwdevices_available

from common.config import CaptureSettings
from edge.capture.scene import SceneState
from edge.capture.sources import SourceSpec
from edge.capture.yuv import YuvPlanes

log = logging.getLogger(__name__)

# Codecs whose every packet is a whole JPEG image: handed on undecoded.
JPEG_CODECS = frozenset({"mjpeg", "jpegls"})
# 4:2:0 layouts whose planes are used as they are; anything else is converted to yuv420p first.
PLANAR_420 = {"yuv420p": False, "yuvj420p": True}
# FFmpeg AVColorRange: 2 is JPEG (full) range.
FULL_RANGE = 2
# Probing is bounded (FFmpeg's defaults are 5 MB and 5 s): a camera cannot make us buffer more.
PROBE_SIZE = 2_000_000
ANALYZE_US = 2_000_000
HWACCEL_ORDER = ("qsv", "vaapi")  # what `auto` tries, where this FFmpeg has it
# still_decode=keyframes: the still scene's packet size is the median of this many non-key
# packets decoded while the channel reported a still scene; a packet above STILL_GROWTH times
# that (and STILL_MARGIN_BYTES more) means something moved. Measured on 1080p 4 Mbit/s: still
# P-frames ~200 bytes (x264 and x265), a car entering 27-113 KB.
STILL_PACKETS = 25
STILL_GROWTH = 3.0
STILL_MARGIN_BYTES = 32
# Skipped packets are kept (they are small by definition) until the next key frame, so that
# decoding resumes on exactly the right picture; past this many, skipping stops.
MAX_SKIPPED_BACKLOG = 300


class FrameTooLarge(ValueError):
    """A decoded frame above capture.max_frame_pixels."""


def hwaccel_devices() -> list[str]:
    """Hardware decoders this FFmpeg build has; whether the box has the device is known on opening."""
    return [name for name in hwdevices_available() if name in HWACCEL_ORDER]


def _hwaccel(settings: CaptureSettings) -> HWAccel | None:
    if settings.hwaccel == "none":
        return None
    available = hwaccel_devices()
    wanted = HWACCEL_ORDER if settings.hwaccel == "auto" else (settings.hwaccel,)
    for name in wanted:
        if name in available:
            return HWAccel(name, device=settings.hwaccel_device, allow_software_fallback=True)
    log.warning(
        "capture.hwaccel=%s: this FFmpeg has %s of %s; decoding in software",
        settings.hwaccel, available or "none", list(wanted),
    )
    return None


def container_options(spec: SourceSpec, settings: CaptureSettings) -> dict[str, str]:
    options = {"probesize": str(PROBE_SIZE), "analyzeduration": str(ANALYZE_US)}
    if spec.kind == "rtsp":
        options["rtsp_transport"] = settings.rtsp_transport
        # Socket timeout in microseconds: a camera that stops sending is noticed.
        options["timeout"] = str(int(settings.read_timeout_s * 1_000_000))
    elif spec.kind == "http":
        options["rw_timeout"] = str(int(settings.read_timeout_s * 1_000_000))
        options["reconnect"] = "0"  # the channel reconnects, with backoff
    return options


class PyAvCapture:
    """One opened source: packets demuxed and decoded on `grab`, handed on by `retrieve`."""

    def __init__(
        self,
        spec: SourceSpec,
        settings: CaptureSettings,
        jpeg_passthrough: bool = True,
        scene: SceneState | None = None,  # what the channel's motion gate sees
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.ended = False  # the source reached its end (files), rather than failing
        self.decode_errors = 0  # packets or frames that did not decode, since opening
        self.skipped_still = 0  # non-key packets not decoded because the scene was still
        self._scene = scene if settings.still_decode == "keyframes" else None
        self._no_skip_epoch = -1  # the still epoch in which a packet's size made decoding resume
        self._still_sizes: deque[int] = deque(maxlen=STILL_PACKETS)
        self._skip_above: int | None = None  # while skipping: the size that resumes decoding
        self._skipped: list[Any] = []  # packets skipped since the last key frame
        self.refusal: str | None = None  # why the source is not read (frames above max_frame_pixels)
        self._payload: YuvPlanes | bytes | None = None
        self._packets: Any = None
        self._pending: list[Any] = []  # frames one packet decoded beyond the first
        self._container: Any = None
        self._stream: Any = None
        self.jpeg = False
        if spec.kind == "file" and not os.path.isfile(spec.target):
            return
        try:
            self._container = av.open(
                spec.target,
                options=container_options(spec, settings),
                timeout=(settings.open_timeout_s, settings.read_timeout_s),
                hwaccel=_hwaccel(settings),
            )
            self._stream = self._container.streams.video[0]
        except (av.error.FFmpegError, OSError, IndexError) as exc:
            log.debug("cannot open %s: %s", spec.describe(), exc)
            self.release()
            return
        # A stream too large is refused before its first frame is decoded: the decoder's frames
        # are what a channel's memory is made of.
        width, height = self._stream.codec_context.width, self._stream.codec_context.height
        if width * height > settings.max_frame_pixels:
            self.refusal = too_large(width, height, settings.max_frame_pixels)
            self.release()
            return
        # A stream whose packets turned out not to be plain JPEGs is decoded like any other.
        self.jpeg = jpeg_passthrough and self._stream.codec_context.name in JPEG_CODECS
        if not self.jpeg:
            context = self._stream.codec_context
            context.thread_count = settings.decoder_threads
            # Frame threading delays output by a frame per thread; slice threading none, but most
            # camera streams have one slice per frame. One thread (the default) needs neither.
            context.thread_type = "FRAME" if settings.decoder_threads != 1 else "SLICE"
        self._packets = self._container.demux(self._stream)

    # --- the cv2.VideoCapture calls the channel uses ---------------------------------------------

    def isOpened(self) -> bool:  # cv2.VideoCapture's name
        return self._packets is not None

    def grab(self) -> bool:
        """Read and decode up to the next frame; False at the end of the source or when it fails
        (`ended` tells which). Packets that do not decode are counted and skipped."""
        self._payload = None
        if self._packets is None:
            return False
        while True:
            if self._pending:
                return self._accept(self._pending.pop(0))
            try:
                packet = next(self._packets)
            except (StopIteration, av.error.EOFError):
                self.ended = True
                return False
            except (av.error.FFmpegError, OSError) as exc:
                log.debug("reading %s failed: %s", self.spec.describe(), exc)
                return False
            if self.jpeg:
                if packet.size:
                    self._payload = bytes(packet)
                    return True
                continue
            if self._scene is not None and packet.size:
                if packet.is_keyframe:  # decoding restarts here: nothing skipped before is needed
                    self._skipped.clear()
                elif self._skip(packet):
                    self.skipped_still += 1
                    continue
            try:
                # The demuxer's last packet is empty: decoding it drains the decoder's delayed frames.
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                self.decode_errors += 1
                log.debug("%s: packet does not decode: %s", self.spec.describe(), exc)
                continue
            self._pending.extend(frames)

    def retrieve(self) -> tuple[bool, YuvPlanes | bytes | None]:
        return self._payload is not None, self._payload

    def get(self, prop_id: int) -> float:
        stream = self._stream
        if stream is None:
            return 0.0
        if prop_id == cv2.CAP_PROP_FPS:
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            return float(rate) if rate else 0.0
        if prop_id == cv2.CAP_PROP_FRAME_COUNT:
            return float(stream.frames or 0)
        return 0.0

    def release(self) -> None:
        self._packets = None
        self._pending.clear()
        self._skipped.clear()
        if self._container is not None:
            try:
                self._container.close()
            except (av.error.FFmpegError, OSError) as exc:  # closing a broken stream must not raise
                log.debug("closing %s: %s", self.spec.describe(), exc)
            self._container = None

    def _skip(self, packet: Any) -> bool:
        """Whether to leave a non-key packet undecoded (for now) because the scene is still.

        Decoding resumes at the first packet much larger than the still scene's, or when the
        channel sees motion in a key frame. The packets skipped since the last key frame are
        decoded first (their frames are not handed on), so the picture is exactly what decoding
        every packet gives, and a car that crept in under the threshold is not smeared.
        """
        scene = self._scene
        assert scene is not None
        if not scene.still:
            self._resume()
            return False
        if scene.epoch == self._no_skip_epoch:  # the worker has not yet judged the frames since
            return False
        size = packet.size
        if self._skip_above is None:
            if len(self._still_sizes) < STILL_PACKETS:
                self._still_sizes.append(size)
                return False
            still = statistics.median(self._still_sizes)
            self._skip_above = int(max(STILL_GROWTH * still, still + STILL_MARGIN_BYTES))
        if size > self._skip_above or len(self._skipped) >= MAX_SKIPPED_BACKLOG:
            self._resume()
            self._no_skip_epoch = scene.epoch
            scene.resumes += 1
            return False
        self._skipped.append(packet)
        return True

    def _resume(self) -> None:
        """Decode the skipped packets (frames dropped) and measure the still scene anew."""
        for packet in self._skipped:
            try:
                packet.decode()
            except av.error.FFmpegError:
                self.decode_errors += 1
        self._skipped.clear()
        self._still_sizes.clear()
        self._skip_above = None

    # --- frames ------------------------------------------------------------------------------------

    def _accept(self, frame: Any) -> bool:
        """Keep a decoded frame's planes for `retrieve`. A frame above max_frame_pixels (the
        stream changed size) ends the stream: False, and reopening refuses it until it is smaller."""
        try:
            self._payload = yuv_planes(frame, self.settings.max_frame_pixels)
        except FrameTooLarge as exc:
            self.decode_errors += 1
            self.refusal = str(exc)
            log.warning("%s: %s; closing the stream", self.spec.describe(), exc)
            self.release()
            return False
        return True


def too_large(width: int, height: int, max_pixels: int) -> str:
    return f"frames of {width}x{height} are above capture.max_frame_pixels={max_pixels}"


def yuv_planes(frame: Any, max_pixels: int) -> YuvPlanes:
    """A decoded av.VideoFrame as 4:2:0 planes: views of the decoder's buffers (kept alive by the
    views), or a converted copy for other layouts (4:2:2 cameras, 10-bit H.265, NV12 from hwaccel)."""
    if frame.width * frame.height > max_pixels:
        raise FrameTooLarge(too_large(frame.width, frame.height, max_pixels))
    name = frame.format.name
    if name == "nv12":  # what hardware decoders hand back: chroma interleaved, used as strided views
        uv = _plane(frame.planes[1], bytes_per_sample=2)
        return YuvPlanes(_plane(frame.planes[0]), uv[:, 0::2], uv[:, 1::2], frame.color_range == FULL_RANGE)
    if name not in PLANAR_420:
        frame = frame.reformat(format="yuv420p")
        name = "yuv420p"
    full_range = PLANAR_420[name] or frame.color_range == FULL_RANGE
    y, u, v = (_plane(plane) for plane in frame.planes[:3])
    return YuvPlanes(y, u, v, full_range)


def _plane(plane: Any, bytes_per_sample: int = 1) -> np.ndarray:
    rows = np.frombuffer(plane, np.uint8)
    shaped = rows[: plane.height * plane.line_size].reshape(plane.height, plane.line_size)
    return shaped[:, : plane.width * bytes_per_sample]
