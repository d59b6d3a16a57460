"""A captured frame and the one-slot hand-over between a capture thread and its consumer.

Live cameras must never build a backlog: when processing is slower than the camera, the newest
frame replaces the waiting one and the replaced frame is counted as dropped. File sources that
are not paced in real time have no "now" to keep up with, so they wait for the consumer instead
and every frame is processed (deterministic offline runs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

import cv2
import numpy as np

from edge.capture.jpeg import REDUCED_GRAY_FLAGS, decode_bgr, decode_reduced_gray, jpeg_size
from edge.capture.yuv import YuvPlanes, luma_view, plate_regions, regions_to_bgr, to_bgr


class Frame:
    """One captured frame: BGR pixels, the camera's own JPEG, or decoded YUV planes, turned into
    what a consumer asks for only when asked.

    JPEG frames (MJPEG cameras and files) stay encoded until a consumer asks: the motion gate and
    the detector take a reduced grey view (a scaled decode, a fraction of a full one), and the
    full BGR image is decoded on first use of `image`, which only frames with plates to read need.
    YUV frames (H.264/H.265) give their grey views from the luma plane; the reader's plate
    regions are converted to BGR (`bgr_around`), the whole frame only for an event's thumbnail.
    """

    __slots__ = (
        "_image", "_views", "captured_at", "channel_id", "hw", "index", "jpeg", "received_monotonic", "yuv",
    )

    def __init__(
        self,
        channel_id: str,
        index: int,  # position in the source since the channel (re)started
        captured_at: datetime,  # UTC; for paced file sources derived from the frame index
        received_monotonic: float,  # time.monotonic() when read: the start of frame-to-result latency
        image: np.ndarray | None = None,  # BGR uint8
        *,
        jpeg: bytes | np.ndarray | None = None,
        yuv: YuvPlanes | None = None,
    ) -> None:
        if sum(x is not None for x in (image, jpeg, yuv)) != 1:
            raise ValueError("a frame needs exactly one of image, jpeg or yuv")
        self.channel_id = channel_id
        self.index = index
        self.captured_at = captured_at
        self.received_monotonic = received_monotonic
        self.jpeg = jpeg
        self.yuv = yuv
        self._image = image
        self._views: dict[int, tuple[np.ndarray, int]] = {}
        # (height, width) of the full frame; a JPEG's comes from its header (JpegError if none)
        if image is not None:
            self.hw: tuple[int, int] = image.shape[:2]
        elif yuv is not None:
            self.hw = yuv.hw
        else:
            self.hw = jpeg_size(jpeg)  # type: ignore[arg-type]

    @property
    def image(self) -> np.ndarray:
        """The full-resolution BGR frame; JpegError when a JPEG frame does not decode."""
        if self._image is None:
            if self.yuv is not None:
                self._image = to_bgr(self.yuv)
            else:
                assert self.jpeg is not None
                self._image = decode_bgr(self.jpeg)
        return self._image

    def bgr_around(self, boxes: Iterable[Sequence[float]]) -> np.ndarray:
        """A BGR image of the frame's size that holds the frame's pixels at least around `boxes`
        (x1, y1, x2, y2; with the margins the reader's crops need): the full image where it
        exists or the frame is a JPEG, else only those regions of a YUV frame, converted."""
        if self._image is not None or self.yuv is None:
            return self.image
        return regions_to_bgr(self.yuv, plate_regions(boxes, self.hw))

    @property
    def decoded(self) -> bool:
        """Whether the full-resolution image exists (always, for frames captured as pixels)."""
        return self._image is not None

    def gray_view(self, factor: int) -> tuple[np.ndarray, int]:
        """The frame in grey reduced by about `factor`, and the factor used: a view pixel is a
        factor x factor block of the frame, so frame coordinates are view coordinates * factor.

        JPEG frames are reduced by the decoder, which can do 1, 2, 4 or 8; `factor` is rounded
        down to one of those. Pixel frames and YUV frames' luma are area-averaged by exactly `factor`.
        """
        factor = max(1, min(int(factor), *self.hw))
        if self.jpeg is not None and self._image is None:
            factor = max(f for f in REDUCED_GRAY_FLAGS if f <= factor)
        cached = self._views.get(factor)
        if cached is None:
            if self.yuv is not None:
                cached = luma_view(self.yuv, factor), factor
            elif self._image is None:
                assert self.jpeg is not None
                cached = decode_reduced_gray(self.jpeg, factor), factor
            else:
                cached = _area_gray(self._image, factor), factor
            self._views[factor] = cached
        return cached


def _area_gray(image: np.ndarray, factor: int) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 3:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif image.ndim == 2:
        gray = image
    else:
        raise ValueError(f"frames are BGR or grey, not shape {image.shape}")
    h, w = gray.shape
    if factor == 1:
        return gray
    # Grey first, then area-average by an exact integer factor (OpenCV's fast path); the right
    # and bottom edges lose under `factor` pixels.
    h_used, w_used = h - h % factor, w - w % factor
    size = (w_used // factor, h_used // factor)
    return cv2.resize(gray[:h_used, :w_used], size, interpolation=cv2.INTER_AREA)


class SlotClosed(Exception):
    """The slot was closed while a producer waited to put a frame."""


class LatestFrameSlot:
    """Holds at most one frame; `put` replaces (and counts a drop) or waits, `take` blocks."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.dropped = 0

    def put(self, frame: Frame, wait: bool = False) -> bool:
        """Offer a frame; returns True when it replaced an unconsumed one (a dropped frame).

        With `wait=True` the producer blocks until the consumer has taken the previous frame.
        """
        with self._cond:
            if wait:
                while self._frame is not None and not self._closed:
                    self._cond.wait(0.5)
            if self._closed:
                raise SlotClosed
            replaced = self._frame is not None
            if replaced:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()
            return replaced

    def take(self, timeout: float | None = None) -> Frame | None:
        """The waiting frame, or None after `timeout` seconds or once closed and empty."""
        with self._cond:
            if self._frame is None and not self._closed:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
