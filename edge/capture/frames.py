"""A captured frame and the one-slot hand-over between a capture thread and its consumer.

Live cameras must never build a backlog: when processing is slower than the camera, the newest
frame replaces the waiting one and the replaced frame is counted as dropped. File sources that
are not paced in real time have no "now" to keep up with, so they wait for the consumer instead
and every frame is processed (deterministic offline runs).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class Frame:
    channel_id: str
    index: int  # position in the source since the channel (re)started
    captured_at: datetime  # UTC; for paced file sources derived from the frame index
    received_monotonic: float  # time.monotonic() when decoded: the start of frame-to-result latency
    image: np.ndarray  # BGR uint8


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
