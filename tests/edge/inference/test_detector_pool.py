"""The detector pool: at most `size` instances, never one used by two callers, the shipped model
giving the same boxes from many threads as from one."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from common.config import DetectorConfig
from edge.inference.detector_pool import DetectorPool, thread_safe
from edge.inference.models import DETECTORS
from edge.inference.protocols import PlateDetection, PlateDetector
from edge.samples import SAMPLE_CLIP


class _OneCallerDetector:
    """Like an OpenVINO infer request: one detect() at a time, counted when that is broken."""

    thread_safe = False

    def __init__(self) -> None:
        self.busy = threading.Lock()
        self.overlaps = 0
        self.calls = 0

    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()
        try:
            self.calls += 1
            return []
        finally:
            self.busy.release()


def _hammer(pool: DetectorPool, callers: int, calls: int) -> None:
    frame = np.zeros((8, 8, 3), np.uint8)

    def caller() -> None:
        for _ in range(calls):
            with pool.borrow() as detector:
                detector.detect(frame)

    with ThreadPoolExecutor(callers) as workers:
        for done in [workers.submit(caller) for _ in range(callers)]:
            done.result()


def test_callers_share_at_most_size_instances_and_never_one_at_once() -> None:
    made = [_OneCallerDetector()]

    def make() -> _OneCallerDetector:
        made.append(_OneCallerDetector())
        return made[-1]

    pool = DetectorPool(made[0], make, size=2)
    _hammer(pool, callers=6, calls=50)
    assert len(made) == pool.instances <= 2
    assert sum(d.calls for d in made) == 300
    assert sum(d.overlaps for d in made) == 0


def test_instances_are_made_only_when_all_are_busy() -> None:
    made: list[PlateDetector] = []
    pool = DetectorPool(_OneCallerDetector(), lambda: made.append(_OneCallerDetector()) or made[-1], size=4)
    for _ in range(3):  # one caller at a time: the first instance serves them all
        with pool.borrow():
            pass
    assert made == [] and pool.instances == 1
    with pool.borrow() as one, pool.borrow() as two:  # two at once: a second one
        assert one is not two
    assert pool.instances == 2


def test_two_callers_detect_at_the_same_time_with_two_instances() -> None:
    both_inside = threading.Barrier(2, timeout=30)  # broken if the second caller had to wait

    class _Meeting(_OneCallerDetector):
        def detect(self, frame: np.ndarray) -> list[PlateDetection]:
            both_inside.wait()
            return super().detect(frame)

    pool = DetectorPool(_Meeting(), _Meeting, size=2)
    _hammer(pool, callers=2, calls=1)
    assert not both_inside.broken and pool.instances == 2


def test_a_detector_that_cannot_be_duplicated_is_one_instance_under_a_lock() -> None:
    only = _OneCallerDetector()
    pool = DetectorPool(only, None, size=4)
    _hammer(pool, callers=4, calls=50)
    assert pool.size == 1 and only.calls == 200 and only.overlaps == 0


def test_a_thread_safe_detector_is_shared_without_copies() -> None:
    class _Stateless(_OneCallerDetector):
        thread_safe = True

    first = _Stateless()
    pool = DetectorPool(first, lambda: pytest.fail("a thread-safe detector is never copied"), size=4)
    with pool.borrow() as one, pool.borrow() as two:
        assert one is two is first


def test_when_another_instance_cannot_be_made_the_callers_share_those_there_are(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = _OneCallerDetector()
    tried = threading.Event()

    def make() -> PlateDetector:
        tried.set()
        raise MemoryError("no room for another compiled model")

    pool = DetectorPool(first, make, size=3)
    borrowed: list[PlateDetector] = []

    def borrow_once() -> None:
        with pool.borrow() as detector:
            borrowed.append(detector)

    with caplog.at_level(logging.ERROR):
        with pool.borrow():  # busy, so the next caller tries to make a second instance
            second = threading.Thread(target=borrow_once)
            second.start()
            assert tried.wait(30)
        second.join(30)
    assert borrowed == [first]  # it waited for the first instance instead
    assert pool.size == pool.instances == 1
    assert "cannot make another detector instance" in caplog.text
    _hammer(pool, callers=3, calls=20)
    assert first.calls == 60 and first.overlaps == 0


def test_a_pool_of_no_instances_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        DetectorPool(_OneCallerDetector(), _OneCallerDetector, size=0)


def _sample_frames(count: int) -> list[np.ndarray]:
    """Frames of the bundled clip's first passing car (frames 20-109)."""
    clip = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames = []
    for index in range(110):
        ok, frame = clip.read()
        assert ok
        if index >= 30 and len(frames) < count and index % 6 == 0:
            frames.append(frame)
    clip.release()
    return frames


def _boxes(found: list[PlateDetection]) -> list[tuple[float, ...]]:
    return [(*d.box, d.score) for d in found]


def test_the_shipped_openvino_detector_finds_the_same_plates_from_many_threads() -> None:
    config = DetectorConfig.model_validate({"runtime": "openvino"})
    first = DETECTORS["onnx"](config)
    assert not thread_safe(first)  # the case the pool exists for
    frames = _sample_frames(12)
    expected = [_boxes(first.detect(frame)) for frame in frames]
    assert sum(map(len, expected)) >= len(frames) - 2  # the plate is found in (nearly) every frame

    pool = DetectorPool(first, lambda: DETECTORS["onnx"](config), size=2)

    def detect_all(offset: int) -> list[list[tuple[float, ...]]]:
        order = [(i + offset) % len(frames) for i in range(len(frames))]
        results: dict[int, list[tuple[float, ...]]] = {}
        for _ in range(3):
            for i in order:
                with pool.borrow() as detector:
                    results[i] = _boxes(detector.detect(frames[i]))
        return [results[i] for i in range(len(frames))]

    with ThreadPoolExecutor(4) as callers:
        outcomes = list(callers.map(detect_all, range(4)))
    assert pool.instances <= 2
    for outcome in outcomes:  # an infer request used by two threads at once would mix frames up
        assert outcome == expected
