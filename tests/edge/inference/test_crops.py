"""The reader's crops from a detection: the box, the plate rectified by its corners, wider and tighter
cuts of each, and the best reading."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from common.config import CROP_VIEWS, ReaderConfig
from common.plates.reading import PlateReading
from edge.inference.crops import (
    PLAUSIBLE_CONFIDENCE,
    REACH_FROM,
    RECTIFY_MARGIN_X,
    RECTIFY_MARGIN_Y,
    STRONG_BOX_SCORE,
    WEAK_BOX_PLAUSIBLE_CONFIDENCE,
    best_reading,
    crop_plate,
    read_plates,
    reader_crops,
    rectify_plate,
    view_crop,
)
from edge.inference.protocols import PlateDetection


def _tilted_plate_frame() -> tuple[np.ndarray, np.ndarray]:
    """A 640x480 frame with a white 200x44 plate (black bar on its left half) warped by a tilt."""
    plate = np.full((44, 200, 3), 255, np.uint8)
    plate[10:34, 20:100] = 0
    src = np.array([[0, 0], [200, 0], [200, 44], [0, 44]], np.float32)
    quad = np.array([[220, 200], [410, 170], [415, 222], [225, 250]], np.float32)
    frame = np.full((480, 640, 3), 90, np.uint8)
    matrix = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(plate, matrix, (640, 480))
    mask = cv2.warpPerspective(np.ones((44, 200), np.uint8), matrix, (640, 480))
    frame[mask > 0] = warped[mask > 0]
    return frame, quad


def test_rectifying_undoes_the_tilt_and_keeps_margins() -> None:
    frame, quad = _tilted_plate_frame()
    out = rectify_plate(frame, quad)
    assert out is not None
    h, w = out.shape[:2]
    plate_w = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    assert w == round(plate_w * (1 + 2 * RECTIFY_MARGIN_X))
    # Inside the margins: the plate is white with the black bar upright on its left half.
    top, left = round(h * RECTIFY_MARGIN_Y / (1 + 2 * RECTIFY_MARGIN_Y)), round(w * RECTIFY_MARGIN_X / 1.08)
    inner = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)[top + 3 : h - top - 3, left + 3 : w - left - 3]
    bar_rows = (inner[:, : inner.shape[1] // 2] < 60).mean(axis=1)
    assert (inner[:, -20:] > 200).mean() > 0.9  # the right end is plain plate
    assert bar_rows.max() > 0.6  # the bar spans most of the left half on some row: it is not sheared


@pytest.mark.parametrize(
    "corners",
    [
        np.array([[0, 0], [3, 0], [3, 1], [0, 1]], np.float32),  # too small to say anything
        np.array([[0, 0], [100, 40], [100, 0], [0, 40]], np.float32),  # folded (bow-tie)
        np.array([[0, 0], [np.nan, 0], [100, 40], [0, 40]], np.float32),
    ],
)
def test_degenerate_corners_give_no_rectified_crop(corners: np.ndarray) -> None:
    assert rectify_plate(np.zeros((100, 200, 3), np.uint8), corners) is None


def test_a_detection_with_corners_is_read_from_two_crops() -> None:
    frame, quad = _tilted_plate_frame()
    box = (*quad.min(axis=0), *quad.max(axis=0))
    with_corners = PlateDetection(tuple(map(float, box)), 0.9, quad)
    without = PlateDetection(tuple(map(float, box)), 0.9)
    crops = reader_crops(frame, with_corners)
    assert len(crops) == 2 and crops[0].shape == crop_plate(frame, with_corners).shape
    assert len(reader_crops(frame, without)) == 1


def test_the_best_reading_is_a_valid_one_then_the_most_probable() -> None:
    invalid_sure = PlateReading("A123", "A123", 0.99, valid=False)
    valid_unsure = PlateReading("А123ВС77", "A123BC77", 0.4, valid=True)
    valid_sure = PlateReading("А123ВС77", "A123BC77", 0.8, valid=True)
    assert best_reading([invalid_sure, valid_unsure]) is valid_unsure
    assert best_reading([valid_unsure, valid_sure, invalid_sure]) is valid_sure
    with pytest.raises(ValueError):
        best_reading([])


def test_read_plates_reads_all_crops_in_one_call_and_pairs_them_back() -> None:
    frame, quad = _tilted_plate_frame()
    box = tuple(map(float, (*quad.min(axis=0), *quad.max(axis=0))))
    detections = [
        PlateDetection(box, 0.9, quad),  # two crops
        PlateDetection((10.0, 10.0, 60.0, 30.0), 0.5),  # one crop
        PlateDetection((700.0, 500.0, 800.0, 520.0), 0.5),  # outside the frame: skipped
    ]
    calls: list[tuple[int, list[int] | None]] = []

    def read(crops: list[np.ndarray], plate_ids: list[int] | None = None) -> list[PlateReading]:
        calls.append((len(crops), plate_ids))
        # The rectified crop (second) of the first detection reads valid; the rest do not.
        return [PlateReading(f"X{i}", f"X{i}", 0.5, valid=(i == 1)) for i in range(len(crops))]

    results = read_plates(read, frame, detections)
    assert calls == [(3, [0, 0, 1])]  # the reader is told which crops are views of one plate
    assert [r[0] for r in results] == detections[:2]
    assert results[0][2].text == "X1" and results[1][2].text == "X2"
    assert results[0][1].shape == crop_plate(frame, detections[0]).shape  # the box crop is kept for the event


def test_a_reader_that_loses_crops_is_an_error() -> None:
    frame, _ = _tilted_plate_frame()
    with pytest.raises(RuntimeError, match="readings"):
        read_plates(lambda crops, plate_ids=None: [], frame, [PlateDetection((10.0, 10.0, 60.0, 30.0), 0.5)])


def test_every_view_is_a_crop_of_the_plate_and_wide_views_are_larger() -> None:
    frame, quad = _tilted_plate_frame()
    box = tuple(map(float, (*quad.min(axis=0), *quad.max(axis=0))))
    detection = PlateDetection(box, 0.9, quad)
    crops = {view: view_crop(frame, detection, view) for view in CROP_VIEWS}
    assert all(crop is not None and crop.ndim == 3 for crop in crops.values())
    for kind in ("box", "rectified"):
        tight, plain, wide = (crops[f"{kind}_tight"], crops[kind], crops[f"{kind}_wide"])
        assert tight.shape[0] < plain.shape[0] < wide.shape[0]  # type: ignore[union-attr]
        assert tight.shape[1] < plain.shape[1] < wide.shape[1]  # type: ignore[union-attr]
    without_corners = PlateDetection(box, 0.9)
    assert view_crop(frame, without_corners, "rectified_wide") is None
    assert len(reader_crops(frame, without_corners, CROP_VIEWS)) == 3


def test_a_box_at_the_frame_edge_gives_wide_views_clipped_to_the_frame() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    wide = view_crop(frame, PlateDetection((0.0, 0.0, 100.0, 20.0), 0.9), "box_wide")
    assert wide is not None and wide.shape[:2] == (22, 103)


def test_extra_views_are_read_only_for_detections_with_a_plausible_plate() -> None:
    frame, quad = _tilted_plate_frame()
    box = tuple(map(float, (*quad.min(axis=0), *quad.max(axis=0))))
    plate, speck = PlateDetection(box, 0.9, quad), PlateDetection((10.0, 10.0, 60.0, 30.0), 0.5, quad)
    calls: list[tuple[int, list[float] | None]] = []
    answers = iter([
        # first call: plate box, plate rectified, speck box, speck rectified
        [PlateReading("А123ВС77", "A123BC77", 0.2, valid=True), PlateReading("X", "X", 0.9),
         PlateReading("В", "B", PLAUSIBLE_CONFIDENCE / 2, valid=True), PlateReading("Y", "Y", 0.9)],
        # second call: the plate's four extra views only; the rectified-wide one is surest
        [PlateReading("А123ВС77", "A123BC77", 0.3, valid=True),
         PlateReading("А128ВС77", "A128BC77", 0.1, valid=True),
         PlateReading("А123ВС77", "A123BC77", 0.9, valid=True), PlateReading("Z", "Z", 0.99)],
    ])

    def read(
        crops: list[np.ndarray], at_least: list[float] | None = None, plate_ids: list[int] | None = None
    ) -> list[PlateReading]:
        calls.append((len(crops), at_least))
        return next(answers)

    extra = ("box_wide", "box_tight", "rectified_wide", "rectified_tight")
    results = read_plates(read, frame, [plate, speck], extra_views=extra)
    # The extra views are read knowing the plate's first reading: only a surer one is of use.
    assert calls == [(4, None), (4, [0.2] * 4)]
    assert results[0][2].confidence == 0.9 and results[0][2].text == "А123ВС77"
    assert results[1][2].text == "В"  # too improbable to earn a second look


@pytest.mark.parametrize(
    ("score", "confidence", "earns"),
    [
        (STRONG_BOX_SCORE, PLAUSIBLE_CONFIDENCE, True),  # a strong box: any plausible reading
        (STRONG_BOX_SCORE - 0.01, PLAUSIBLE_CONFIDENCE, False),  # a weak box needs a surer one
        (STRONG_BOX_SCORE - 0.01, WEAK_BOX_PLAUSIBLE_CONFIDENCE, True),
        (0.2, WEAK_BOX_PLAUSIBLE_CONFIDENCE / 2, False),
    ],
)
def test_a_weak_box_earns_its_extra_views_only_with_a_surer_first_reading(
    score: float, confidence: float, earns: bool
) -> None:
    # Most of the boxes a still photo gives at the snapshot threshold are not plates; on eu-dev
    # those under 0.5 made 2.6 plausible first readings a photo and 0.17 outputs.
    frame, quad = _tilted_plate_frame()
    box = tuple(map(float, (*quad.min(axis=0), *quad.max(axis=0))))
    calls: list[int] = []

    def read(
        crops: list[np.ndarray], at_least: list[float] | None = None, plate_ids: list[int] | None = None
    ) -> list[PlateReading]:
        calls.append(len(crops))
        return [PlateReading("А123ВС77", "A123BC77", confidence, valid=True) for _ in crops]

    extra = ("box_wide", "box_tight", "rectified_wide", "rectified_tight")
    read_plates(read, frame, [PlateDetection(box, score, quad)], extra_views=extra)
    assert calls == ([2, 4] if earns else [2])


@pytest.mark.parametrize(
    ("min_confidence", "extra", "reach", "floors"),
    [
        # The snapshot defaults: a strong box's first reading is of use from 1e-3 (extra views),
        # a weak box's from 0.1.
        (0.5, True, True, [PLAUSIBLE_CONFIDENCE, WEAK_BOX_PLAUSIBLE_CONFIDENCE]),
        (0.05, True, True, [PLAUSIBLE_CONFIDENCE, 0.05]),  # output itself takes weaker ones
        (0.5, False, True, [REACH_FROM, REACH_FROM]),  # carried past its ends from 0.3
        (0.5, False, False, [0.5, 0.5]),
        (0.0, True, True, None),  # every reading looked for, as the video agent does
    ],
)
def test_first_readings_that_nothing_would_use_are_not_looked_for(
    min_confidence: float, extra: bool, reach: bool, floors: list[float] | None
) -> None:
    frame, quad = _tilted_plate_frame()
    box = tuple(map(float, (*quad.min(axis=0), *quad.max(axis=0))))
    strong = PlateDetection(box, STRONG_BOX_SCORE, quad)
    weak = PlateDetection(box, STRONG_BOX_SCORE - 0.01, quad)
    calls: list[list[float] | None] = []

    def read(
        crops: list[np.ndarray], at_least: list[float] | None = None, plate_ids: list[int] | None = None
    ) -> list[PlateReading]:
        calls.append(at_least)
        return [PlateReading("X", "X", 0.0) for _ in crops]

    views = ("box_wide", "box_tight") if extra else ()
    read_plates(
        read, frame, [strong, weak], extra_views=views, reach_past_ends=reach, min_confidence=min_confidence
    )
    # Two first views per detection, each with its detection's floor.
    assert calls == [None if floors is None else [floors[0]] * 2 + [floors[1]] * 2]


def test_no_extra_views_means_one_reader_call() -> None:
    frame, quad = _tilted_plate_frame()
    box = tuple(map(float, (*quad.min(axis=0), *quad.max(axis=0))))
    calls: list[int] = []

    def read(crops: list[np.ndarray], plate_ids: list[int] | None = None) -> list[PlateReading]:
        calls.append(len(crops))
        return [PlateReading("А123ВС77", "A123BC77", 0.9, valid=True) for _ in crops]

    read_plates(read, frame, [PlateDetection(box, 0.9, quad)], views=["rectified_tight"])
    assert calls == [1]


def test_a_detection_without_the_configured_views_is_read_from_its_box() -> None:
    frame, _ = _tilted_plate_frame()
    got: list[tuple[int, ...]] = []

    def read(crops: list[np.ndarray], plate_ids: list[int] | None = None) -> list[PlateReading]:
        got.extend(crop.shape for crop in crops)
        return [PlateReading("X", "X", 0.5) for _ in crops]

    read_plates(read, frame, [PlateDetection((10.0, 10.0, 60.0, 30.0), 0.5)], views=["rectified"])
    assert got == [(20, 50, 3)]


def test_config_rejects_unknown_or_repeated_views() -> None:
    from pydantic import ValidationError

    assert ReaderConfig().views == ["box", "rectified"]
    with pytest.raises(ValidationError, match="views"):
        ReaderConfig(views=["box", "box"])
    with pytest.raises(ValidationError, match="views"):
        ReaderConfig(extra_views=["sideways"])
    with pytest.raises(ValidationError, match="views"):
        ReaderConfig(views=[])


# A frame whose plate glyphs are stripes 40 px wide, each painted with its index + 1, and a reader
# that reads the glyphs wholly inside a crop: where a box ends decides what is read.
_GLYPH_PX = 40


def _striped_frame(n_glyphs: int, left: int = 100) -> np.ndarray:
    frame = np.zeros((60, 1000, 3), np.uint8)
    for k in range(n_glyphs):
        frame[:, left + k * _GLYPH_PX : left + (k + 1) * _GLYPH_PX] = k + 1
    return frame


def _glyph_reader(
    text: str, valid: set[str], country: str = "PL", fmt: str = "standard"
) -> Callable[[list[np.ndarray]], list[PlateReading]]:
    def read(crops: list[np.ndarray], plate_ids: list[int] | None = None) -> list[PlateReading]:
        readings = []
        for crop in crops:
            values, counts = np.unique(crop[0, :, 0], return_counts=True)
            whole = [int(v) - 1 for v, c in zip(values, counts, strict=True) if v and c == _GLYPH_PX]
            seen = "".join(text[k] for k in sorted(whole))
            ok = seen in valid
            readings.append(PlateReading(seen, seen, 0.9, valid=ok, country=country if ok else None,
                                         format=fmt if ok else None))
        return readings

    return read


def test_a_box_cut_short_of_the_plate_end_is_read_again_carried_past_it() -> None:
    frame = _striped_frame(7)
    short = PlateDetection((100.0, 10.0, 100.0 + 6 * _GLYPH_PX + 5, 50.0), 0.9)  # misses the 7th glyph
    read = _glyph_reader("KR466WV", {"KR466W", "KR466WV"})
    assert read_plates(read, frame, [short])[0][2].latin == "KR466W"
    detection, box_crop, reading = read_plates(read, frame, [short], reach_past_ends=True)[0]
    assert reading.latin == "KR466WV"
    assert detection.box == pytest.approx((100.0, 10.0, 100.0 + 6 * _GLYPH_PX + 5 + 36.75, 50.0))  # + 15%
    assert detection.score == 0.9 and box_crop.shape[1] == 282  # the box and its crop now hold the plate
    cut_left = PlateDetection((100.0 + 2 * _GLYPH_PX - 25, 10.0, 100.0 + 7 * _GLYPH_PX, 50.0), 0.9)
    read = _glyph_reader("SBE9327", {"E9327", "BE9327", "SBE9327"})  # 55 px short: two rounds
    assert read_plates(read, frame, [cut_left], reach_past_ends=True)[0][2].latin == "SBE9327"


def test_only_a_valid_reading_that_keeps_every_glyph_read_so_far_replaces_the_first() -> None:
    frame = _striped_frame(7)
    short = PlateDetection((100.0, 10.0, 100.0 + 6 * _GLYPH_PX + 5, 50.0), 0.9)
    invalid_longer = _glyph_reader("KR466WV", {"KR466W"})
    assert read_plates(invalid_longer, frame, [short], reach_past_ends=True)[0][2].latin == "KR466W"

    # The wider crops read another plate.
    def changed(crops: list[np.ndarray], plate_ids: list[int] | None = None) -> list[PlateReading]:
        first = _glyph_reader("KR466WV", {"KR466W"})(crops[:1])
        other = PlateReading("XR466WV", "XR466WV", 0.99, valid=True, country="PL", format="standard")
        return first + [other] * (len(crops) - 1)

    assert read_plates(changed, frame, [short], reach_past_ends=True)[0][2].latin == "KR466W"


def test_a_plate_ending_in_a_region_box_is_not_carried_past_its_right_end() -> None:
    # The RUS flag beside a Russian region code reads as a third region digit.
    frame = _striped_frame(9)
    whole = PlateDetection((100.0, 10.0, 100.0 + 8 * _GLYPH_PX + 5, 50.0), 0.9)
    read = _glyph_reader("P426KB147", {"P426KB14", "P426KB147"}, country="RU", fmt="standard")
    assert read_plates(read, frame, [whole], reach_past_ends=True)[0][2].latin == "P426KB14"


def test_a_box_at_the_frame_edge_is_carried_past_it_without_harm() -> None:
    frame = _striped_frame(2, left=920)  # glyphs at 920-1000, the frame's right edge
    at_edge = PlateDetection((915.0, 10.0, 1000.0, 50.0), 0.9)
    read = _glyph_reader("AB", {"AB"})
    detection, _, reading = read_plates(read, frame, [at_edge], reach_past_ends=True)[0]
    assert reading.latin == "AB" and detection == at_edge
