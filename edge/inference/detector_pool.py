"""Detector instances that cameras share: a camera borrows one for one detection.

A detector whose instance serves one caller at a time (an OpenVINO infer request) is given to
each camera as its own by default, the lowest latency; `detector.parallel` makes the cameras
share that many instead, for a box short of memory (~7 MB each for the shipped INT8 detector).
The pool makes them on demand: a new one only when every one is busy and it is not full. A
thread-safe detector (ONNX Runtime) is shared without a lock; one that cannot be duplicated is
shared under a lock (a pool of one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from edge.inference.protocols import PlateDetector

log = logging.getLogger(__name__)


def thread_safe(detector: object) -> bool:
    """ONNX Runtime sessions may run from many threads at once; an OpenVINO infer request may not."""
    return bool(getattr(detector, "thread_safe", False))


class DetectorPool:
    """Instances of one detector that channels borrow, one detection at a time each."""

    def __init__(
        self, first: PlateDetector, make: Callable[[], PlateDetector] | None = None, size: int = 1
    ) -> None:
        if size < 1:
            raise ValueError(f"a detector pool needs at least one instance, got size {size}")
        self.first = first  # what every instance is like (the pipeline asks it about views)
        self.shared = thread_safe(first)
        self.size = 1 if self.shared or make is None else size
        self._make = make
        self._idle: list[PlateDetector] = [first]
        self._made = 1
        self._ready = threading.Condition()

    @property
    def instances(self) -> int:
        """Instances made so far (never more than `size`)."""
        with self._ready:
            return self._made

    @contextmanager
    def borrow(self) -> Iterator[PlateDetector]:
        """An instance no other caller is using until the block ends (waits while all are busy)."""
        if self.shared:
            yield self.first
            return
        detector = self._acquire()
        try:
            yield detector
        finally:
            with self._ready:
                self._idle.append(detector)
                self._ready.notify()

    def _acquire(self) -> PlateDetector:
        with self._ready:
            while not self._idle and self._made >= self.size:
                self._ready.wait()
            if self._idle:
                return self._idle.pop()
            self._made += 1  # this caller makes the next instance, outside the lock
        assert self._make is not None  # size > 1 only with a way to make more
        try:
            return self._make()
        except Exception:
            # The model loaded before, so this is memory or a file gone: go on with what there is.
            log.exception("cannot make another detector instance; the cameras share %d", self._made - 1)
            with self._ready:
                self._made -= 1
                self.size = self._made
            return self._acquire()
