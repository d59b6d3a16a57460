"""Camera sources: what a `source` string in the config names, and how OpenCV opens it.

With `capture.decoder: opencv` (and for USB cameras) every kind goes through `cv2.VideoCapture`;
network and file sources use its FFmpeg backend, USB cameras the platform's default (V4L2 on
Linux). The PyAV decoder (edge.capture.pyav_source) opens the others by default.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np

from common.config import SAMPLE_SOURCE, CaptureSettings

SourceKind = Literal["rtsp", "http", "file", "usb"]

# OpenCV reads its FFmpeg options from the environment when a capture opens.
_ENV_LOCK = threading.Lock()


class VideoCaptureLike(Protocol):
    def isOpened(self) -> bool: ...
    def grab(self) -> bool: ...
    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop_id: int) -> float: ...
    def release(self) -> None: ...


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    target: str  # URL, file path, or the USB device index as text

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    def describe(self) -> str:
        """The source without credentials, for logs: rtsp://user:pass@host/ becomes rtsp://***@host/."""
        if self.kind in ("rtsp", "http") and "@" in self.target:
            scheme, rest = self.target.split("://", 1)
            return f"{scheme}://***@{rest.split('@', 1)[1]}"
        return self.target


def parse_source(source: str) -> SourceSpec:
    """The kind of a config `source` string; ValueError when it names nothing we can open."""
    text = source.strip()
    lowered = text.lower()
    if lowered.startswith(("rtsp://", "rtsps://")):
        return SourceSpec("rtsp", text)
    if lowered.startswith(("http://", "https://")):
        return SourceSpec("http", text)
    if lowered.startswith("usb:"):
        index = text[4:]
        if not index.isdigit():
            raise ValueError(f"usb source needs a device number, e.g. usb:0, not {source!r}")
        return SourceSpec("usb", index)
    if lowered == SAMPLE_SOURCE:
        from edge.samples import SAMPLE_CLIP

        return SourceSpec("file", str(SAMPLE_CLIP))
    if "://" in text:
        raise ValueError(
            f"unsupported source scheme in {source!r}: "
            f"use rtsp://, http(s)://, a file, usb:N or {SAMPLE_SOURCE}"
        )
    return SourceSpec("file", str(Path(text).expanduser()))


def open_capture(spec: SourceSpec, settings: CaptureSettings | None = None) -> VideoCaptureLike:
    """An opened capture, or one whose isOpened() is False when the source cannot be reached."""
    settings = settings or CaptureSettings()
    if spec.kind == "usb":
        return cv2.VideoCapture(int(spec.target))
    if spec.kind == "file" and not os.path.isfile(spec.target):
        return _Unopened()
    # Without timeouts FFmpeg waits ~30 s on a dead RTSP server before giving up.
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(settings.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(settings.read_timeout_s * 1000),
        cv2.CAP_PROP_N_THREADS, settings.decoder_threads,
    ]
    if spec.kind != "rtsp":
        return cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)
    with _ENV_LOCK:
        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"rtsp_transport;{settings.rtsp_transport}"
        return cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)


class _Unopened:
    """What open_capture returns for a file that is not there (FFmpeg would log noise about it)."""

    def isOpened(self) -> bool:
        return False

    def grab(self) -> bool:
        return False

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        return False, None

    def get(self, prop_id: int) -> float:
        return 0.0

    def release(self) -> None:
        return None


# Codec tags of streams whose every packet is a complete JPEG image.
JPEG_FOURCCS = frozenset({"MJPG", "JPEG", "MJPA", "AVRN", "DMB1"})


def fourcc_text(capture: VideoCaptureLike) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\0 ").upper()


def enable_jpeg_passthrough(capture: VideoCaptureLike, spec: SourceSpec) -> bool:
    """Ask an FFmpeg capture of an MJPEG stream for its undecoded JPEG packets; True when it agreed.

    Frames then reach the pipeline as JPEG bytes and are decoded only as far as needed (see
    edge.capture.jpeg). USB cameras go through V4L2, whose raw mode means something else.
    """
    setter = getattr(capture, "set", None)
    if spec.kind == "usb" or setter is None or fourcc_text(capture) not in JPEG_FOURCCS:
        return False
    return bool(setter(cv2.CAP_PROP_FORMAT, -1))


def source_fps(capture: VideoCaptureLike, default: float = 25.0) -> float:
    """The stream's nominal frame rate; many RTSP cameras report 0 or nonsense, so sanity-check it."""
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if 1.0 <= fps <= 240.0 else default


def frame_count(capture: VideoCaptureLike) -> int:
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(count) if count and count > 0 else 0
