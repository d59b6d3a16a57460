"""The reader's crops from a detection: the box, the plate rectified by its corners, the best reading."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.inference.crops import (
    RECTIFY_MARGIN_X,
    RECTIFY_MARGIN_Y,
    best_reading,
    crop_plate,
    read_plates,
    reader_crops,
    rectify_plate,
)
from edge.inference.protocols import PlateDetection, PlateReading


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
    calls: list[int] = []

    def read(crops: list[np.ndarray]) -> list[PlateReading]:
        calls.append(len(crops))
        # The rectified crop (second) of the first detection reads valid; the rest do not.
        return [PlateReading(f"X{i}", f"X{i}", 0.5, valid=(i == 1)) for i in range(len(crops))]

    results = read_plates(read, frame, detections)
    assert calls == [3]
    assert [r[0] for r in results] == detections[:2]
    assert results[0][2].text == "X1" and results[1][2].text == "X2"
    assert results[0][1].shape == crop_plate(frame, detections[0]).shape  # the box crop is kept for the event


def test_a_reader_that_loses_crops_is_an_error() -> None:
    frame, _ = _tilted_plate_frame()
    with pytest.raises(RuntimeError, match="readings"):
        read_plates(lambda crops: [], frame, [PlateDetection((10.0, 10.0, 60.0, 30.0), 0.5)])
