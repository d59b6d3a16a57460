"""The motion gate and the cross-channel OCR batcher."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from edge_scene import ColourPlateReader, Passing, bgr_of, render_frame

from edge.capture.motion import MotionGate
from edge.inference.batching import BatcherStopped, ReadBatcher


def test_a_still_scene_is_skipped_and_motion_wakes_detection() -> None:
    gate = MotionGate(threshold=0.004, keyframe_interval_s=10.0)
    still = render_frame(0, [])
    assert gate.should_process(still, 0.0)  # the first frame is always looked at
    assert not gate.should_process(still.copy(), 0.04)
    noisy = np.clip(still.astype(int) + np.random.default_rng(0).integers(-4, 5, still.shape), 0, 255)
    assert not gate.should_process(noisy.astype(np.uint8), 0.08)  # sensor noise is not motion
    moving = render_frame(5, [Passing("red", 0, 20)])
    assert gate.should_process(moving, 0.12)


def test_a_still_scene_is_still_looked_at_every_keyframe_interval() -> None:
    gate = MotionGate(threshold=0.004, keyframe_interval_s=1.0)
    still = render_frame(0, [])
    decisions = [gate.should_process(still, t * 0.1) for t in range(25)]
    assert decisions.count(True) == 3  # t = 0, 1.0, 2.0 s


def test_threshold_zero_processes_every_frame() -> None:
    gate = MotionGate(threshold=0.0)
    still = render_frame(0, [])
    assert all(gate.should_process(still, t) for t in range(5))


def _crop(colour: str) -> np.ndarray:
    return np.full((24, 100, 3), bgr_of(colour), np.uint8)


def test_crops_from_many_channels_are_read_in_shared_batches() -> None:
    reader = ColourPlateReader()
    batcher = ReadBatcher(reader, batch_size=8, max_wait_ms=200)
    batcher.start()
    results: dict[int, list[str]] = {}
    barrier = threading.Barrier(4)

    def channel(n: int) -> None:
        barrier.wait()
        results[n] = [r.latin for r in batcher.read([_crop("red"), _crop("blue")])]

    threads = [threading.Thread(target=channel, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    batcher.stop()
    assert all(results[n] == ["A123BC77", "O789PT50"] for n in range(4))
    assert sum(reader.batches) == 8
    assert max(reader.batches) > 2  # crops of different channels shared a batch
    assert all(size <= 8 for size in reader.batches)


class _PlateIdsReader(ColourPlateReader):
    """Records the plate id each crop (by identity) is read with."""

    def __init__(self) -> None:
        super().__init__()
        self.plate_of: dict[int, int | None] = {}

    def read(self, crops, at_least=None, plate_ids=None):  # type: ignore[no-untyped-def]
        for i, crop in enumerate(crops):
            self.plate_of[id(crop)] = None if plate_ids is None else plate_ids[i]
        return super().read(crops, at_least, plate_ids)


def test_views_of_one_plate_stay_one_plate_in_a_shared_batch_and_callers_plates_stay_apart() -> None:
    reader = _PlateIdsReader()
    # The batch is read once all six crops are in, however late the second caller comes.
    batcher = ReadBatcher(reader, batch_size=6, max_wait_ms=10_000)
    batcher.start()
    crops = {name: [_crop("red"), _crop("red"), _crop("blue")] for name in ("first", "second")}
    threads = [
        threading.Thread(target=batcher.read, args=(crops[name],), kwargs={"plate_ids": [0, 0, 1]})
        for name in crops
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    batcher.stop()
    assert reader.batches == [6]
    ids = {name: [reader.plate_of[id(crop)] for crop in views] for name, views in crops.items()}
    for a, b, c in ids.values():
        assert a == b != c  # the two views of plate 0 are one plate, plate 1 another
    assert not set(ids["first"]) & set(ids["second"])  # each caller's plate 0 is its own

    lone = ReadBatcher(reader, batch_size=2, max_wait_ms=10_000)
    lone.start()
    green = [_crop("green"), _crop("green")]
    lone.read(green)  # no ids: each crop a plate of its own
    with pytest.raises(ValueError, match="plate_ids has 1 values for 2 crops"):
        lone.read(green, plate_ids=[0])
    lone.stop()
    assert reader.plate_of[id(green[0])] != reader.plate_of[id(green[1])]


def test_a_lone_crop_waits_no_longer_than_max_wait() -> None:
    reader = ColourPlateReader()
    batcher = ReadBatcher(reader, batch_size=64, max_wait_ms=50)
    batcher.start()
    started = time.monotonic()
    assert batcher.read([_crop("green")])[0].latin == "E456KM99"
    batcher.stop()
    assert time.monotonic() - started < 5  # bounded (generously: the machine is shared)
    assert reader.batches == [1]


class _BrokenReader:
    def read(self, crops, at_least=None, plate_ids=None):  # type: ignore[no-untyped-def]
        raise RuntimeError("model exploded")


def test_a_reader_failure_reaches_the_caller_and_the_batcher_survives() -> None:
    batcher = ReadBatcher(_BrokenReader(), batch_size=4, max_wait_ms=1)
    batcher.start()
    with pytest.raises(RuntimeError, match="model exploded"):
        batcher.read([_crop("red")])
    batcher.reader = ColourPlateReader()  # a config reload swaps the model in place
    assert batcher.read([_crop("red")])[0].latin == "A123BC77"
    batcher.stop()
    with pytest.raises(BatcherStopped):
        batcher.read([_crop("red")])
