"""Very large photos are searched in overlapping tiles as well as whole."""

from __future__ import annotations

import numpy as np
import pytest

from edge.inference.protocols import PlateDetection
from edge.inference.tiles import (
    FINE_HEIGHT,
    FINE_OVERLAP_PX,
    FINE_WIDTH,
    MAX_FINE_TILES,
    TILE_OVERLAP_PX,
    detect_tiled,
    fine_windows,
    tile_windows,
)
from edge.inference.weights import DETECTOR_INT8
from edge.tracking.tracker import iou


def assert_covered_with_overlap(windows: list[tuple[int, int, int, int]], frame_hw: tuple[int, int],
                                overlap: int) -> None:
    """Every pixel lies in some window, and side-by-side windows share at least `overlap` px."""
    covered = np.zeros(frame_hw, bool)
    for x1, y1, x2, y2 in windows:
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    xs = sorted({x1 for x1, _, _, _ in windows})
    ends = sorted({x2 for _, _, x2, _ in windows})
    assert all(end - start >= overlap for start, end in zip(xs[1:], ends[:-1], strict=True))


def test_tiles_cover_a_12_mp_photo_and_overlap_by_more_than_a_plate() -> None:
    assert_covered_with_overlap(tile_windows((3000, 4000)), (3000, 4000), TILE_OVERLAP_PX)


def test_a_photo_smaller_than_a_tile_is_one_window() -> None:
    assert tile_windows((720, 1280)) == [(0, 0, 1280, 720)]


class BrightBlobDetector:
    """Finds the bright rectangle of a frame, whatever its scale; records the frame sizes."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        self.seen.append(frame.shape[:2])
        ys, xs = np.nonzero(frame[..., 0] > 200)
        if not len(xs):
            return []
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        return [PlateDetection(box, 0.9, None)]


def test_a_plate_seen_whole_and_in_several_tiles_comes_out_once_and_cut_pieces_are_dropped() -> None:
    frame = np.zeros((3000, 4000, 3), np.uint8)
    # Across the first vertical tile edge: cut in one tile, whole in its neighbour.
    frame[1000:1040, 1600:1760] = 255
    detector = BrightBlobDetector()
    found = detect_tiled(detector, frame, tile_above_px=2600)
    assert len(detector.seen) == 1 + len(tile_windows((3000, 4000)))
    assert [d.box for d in found] == [(1600.0, 1000.0, 1760.0, 1040.0)]


def test_photos_under_the_size_are_only_looked_at_whole() -> None:
    detector = BrightBlobDetector()
    detect_tiled(detector, np.zeros((1200, 1600, 3), np.uint8), tile_above_px=2600)
    detect_tiled(detector, np.zeros((3000, 4000, 3), np.uint8), tile_above_px=0)
    assert detector.seen == [(1200, 1600), (3000, 4000)]


@pytest.mark.skipif(not DETECTOR_INT8.is_file(), reason="detector model not built yet")
def test_plates_small_in_a_12_mp_photo_are_found_in_the_tiles() -> None:
    from edge.inference.detector import OnnxPlateDetector
    from models.synth.scene_plates import RenderedPlateSource
    from models.synth.scenes import SceneConfig, render_scene

    detector = OnnxPlateDetector(DETECTOR_INT8, runtime="onnxruntime", score_threshold=0.2)
    cfg = SceneConfig(height=480, width=640, empty_scene_rate=0.0, close_up_rate=1.0, min_plate_width=60)
    source = RenderedPlateSource()
    whole = tiled = plates = 0
    for seed in range(12):
        scene = render_scene(np.random.default_rng([7, seed]), source, cfg)
        photo = np.random.default_rng(seed).integers(90, 140, size=(3000, 4000, 1), dtype=np.uint8)
        photo = np.repeat(photo, 3, axis=2)
        ox, oy = 1900, 1300  # a street scene 640 px wide in a 4000 px photo: plates 60-175 px
        photo[oy : oy + 480, ox : ox + 640] = scene.image
        for x1, y1, x2, y2 in scene.boxes:
            truth = (x1 + ox, y1 + oy, x2 + ox, y2 + oy)
            plates += 1
            whole += any(iou(d.box, truth) >= 0.5 for d in detector.detect(photo))
            tiled += any(iou(d.box, truth) >= 0.5 for d in detect_tiled(detector, photo))
    assert plates >= 10
    assert whole <= plates // 3  # shrunk ~10x, most are under the detector's smallest plate
    assert tiled >= plates - 1


def test_the_finer_search_covers_a_mid_size_photo_in_tiles_two_detector_inputs_wide() -> None:
    windows = fine_windows((1280, 1920))
    assert 1 < len(windows) <= MAX_FINE_TILES
    assert {(x2 - x1, y2 - y1) for x1, y1, x2, y2 in windows} == {(FINE_WIDTH, FINE_HEIGHT)}
    assert_covered_with_overlap(windows, (1280, 1920), FINE_OVERLAP_PX)


def test_the_finer_search_skips_photos_that_fit_one_tile_and_those_tiled_fourfold() -> None:
    assert fine_windows((640, 832)) == []
    assert fine_windows((480, 640)) == []
    assert fine_windows((3000, 4000)) == []
    assert fine_windows((1950, 2600))
