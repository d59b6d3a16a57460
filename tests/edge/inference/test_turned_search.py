"""A still photo where nothing sure was read is searched again turned a little each way, and what
is found there is turned back onto the upright photo, corners and all."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.inference.protocols import PlateDetection
from edge.inference.turned_search import detect_turned, turned, turned_back


@pytest.mark.parametrize("degrees", [-12.0, 7.5, 90.0])
def test_the_turned_canvas_holds_the_whole_photo_and_turns_back_exactly(degrees: float) -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    image, matrix = turned(frame, degrees)
    corners = np.array([[0, 0], [640, 0], [640, 360], [0, 360]], np.float64)
    on_canvas = corners @ matrix[:, :2].T + matrix[:, 2]
    height, width = image.shape[:2]
    assert (on_canvas >= -1e-6).all() and (on_canvas[:, 0] <= width + 1e-6).all()
    assert (on_canvas[:, 1] <= height + 1e-6).all()
    found = PlateDetection((0.0, 0.0, 1.0, 1.0), 0.5, on_canvas[[0, 1, 2, 3]].astype(np.float32))
    back = turned_back(found, matrix, (360, 640))
    assert np.allclose(back.corners, corners, atol=1e-3)
    assert back.box == pytest.approx((0.0, 0.0, 640.0, 360.0), abs=1e-3)


class LevelPlateDetector:
    """Finds the bright quadrilateral of a frame only while it lies level (within 3 deg), with
    its corners: a detector that misses a plate at a steep angle."""

    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        mask = (frame[..., 0] > 200).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
            if min(angle % 90, 90 - angle % 90) > 3 or w * h < 200:
                continue
            box = cv2.boxPoints(((cx, cy), (w, h), angle))
            order = np.argsort(box[:, 0] + box[:, 1])  # top-left first, bottom-right last
            tl, br = box[order[0]], box[order[3]]
            tr, bl = sorted([box[order[1]], box[order[2]]], key=lambda p: p[1])
            corners = np.array([tl, tr, br, bl], np.float32)
            x1, y1 = corners.min(axis=0)
            x2, y2 = corners.max(axis=0)
            found.append(PlateDetection((float(x1), float(y1), float(x2), float(y2)), 0.8, corners))
        return found


def test_a_plate_missed_at_its_angle_is_found_turned_with_its_own_corners() -> None:
    frame = np.zeros((480, 640, 3), np.uint8)
    plate = cv2.boxPoints(((320.0, 240.0), (200.0, 44.0), 12.0))
    cv2.fillPoly(frame, [np.round(plate).astype(np.int32)], (255, 255, 255))
    detector = LevelPlateDetector()
    assert detector.detect(frame) == []
    found = detect_turned(detector, frame, (-12.0, 12.0))
    assert len(found) == 1
    corners = found[0].corners
    assert corners is not None
    # Each drawn corner has a found corner within 2 px, and the box is the one around them.
    assert all(np.linalg.norm(corners - point, axis=1).min() < 2.0 for point in plate)
    assert found[0].box == pytest.approx(
        (plate[:, 0].min(), plate[:, 1].min(), plate[:, 0].max(), plate[:, 1].max()), abs=2.0
    )


def test_nothing_found_turned_is_nothing() -> None:
    assert detect_turned(LevelPlateDetector(), np.zeros((120, 160, 3), np.uint8)) == []


class ShrinkingLevelPlateDetector(LevelPlateDetector):
    """A level-plate detector that, like the ONNX one, says it shrinks frames eightfold."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []

    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        self.seen.append(frame.shape[:2])
        return super().detect(frame)

    def view_factor(self, frame_hw: tuple[int, int]) -> int:
        return 8

    def detect_view(
        self, view: np.ndarray, reduction: int, frame_hw: tuple[int, int]
    ) -> list[PlateDetection]:
        raise AssertionError("not used by the turned search")


def test_a_large_photo_is_shrunk_before_it_is_turned_and_boxes_come_back_in_its_pixels() -> None:
    frame = np.zeros((1922, 2562, 3), np.uint8)  # sides not divisible by the factor
    plate = cv2.boxPoints(((1500.0, 900.0), (600.0, 130.0), -12.0))
    cv2.fillPoly(frame, [np.round(plate).astype(np.int32)], (255, 255, 255))
    detector = ShrinkingLevelPlateDetector()
    found = detect_turned(detector, frame, (-12.0, 12.0))
    assert all(max(hw) < 1000 for hw in detector.seen)  # turned copies of the photo shrunk 4x
    assert len(found) == 1 and found[0].corners is not None
    assert all(np.linalg.norm(found[0].corners - point, axis=1).min() < 6.0 for point in plate)
