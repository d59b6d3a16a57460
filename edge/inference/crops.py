"""The reader's input crops from a detection: the axis-aligned box, and the plate rectified by its
four predicted corners.

The reader is trained on both kinds. The box alone leaves a tilted plate tilted and, when the
detector's box is loose, small; the rectified crop undoes perspective but depends on the corner
estimate. On the real RU photos neither is best everywhere, so the reader reads both and the
better reading wins (see `best_reading`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from edge.inference.protocols import PlateDetection, PlateReading

log = logging.getLogger(__name__)

MIN_CROP_PX = 2
# Margins around the rectified plate, as fractions of its width and height: what the reader sees
# around a box-cut plate too, and room for corners that land a little inside the plate.
RECTIFY_MARGIN_X = 0.04
RECTIFY_MARGIN_Y = 0.10
# Below this the corners say nothing a box crop does not.
MIN_RECTIFY_PX = 6.0


def crop_plate(frame: np.ndarray, detection: PlateDetection) -> np.ndarray:
    """The pixels of `frame` inside the detection's box (a view; at least 2x2 px)."""
    if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3):
        raise ValueError("frame must be an HxW or HxWxC numpy array")
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = detection.box
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValueError(f"detection box has non-finite coordinates: {detection.box}")
    left, top = max(0, math.floor(min(x1, x2))), max(0, math.floor(min(y1, y2)))
    right, bottom = min(w, math.ceil(max(x1, x2))), min(h, math.ceil(max(y1, y2)))
    if right <= left or bottom <= top:
        raise ValueError(f"detection box {detection.box} lies outside the {w}x{h} frame")
    # A sliver box still gives the reader something to reject rather than a crash.
    if right - left < MIN_CROP_PX:
        right = min(w, left + MIN_CROP_PX)
        left = max(0, right - MIN_CROP_PX)
    if bottom - top < MIN_CROP_PX:
        bottom = min(h, top + MIN_CROP_PX)
        top = max(0, bottom - MIN_CROP_PX)
    return frame[top:bottom, left:right]


def rectify_plate(
    frame: np.ndarray,
    corners: np.ndarray,
    margin_x: float = RECTIFY_MARGIN_X,
    margin_y: float = RECTIFY_MARGIN_Y,
) -> np.ndarray | None:
    """The plate inside `corners` (TL, TR, BR, BL) warped to a frontal rectangle with margins,
    at its own mean edge lengths (no upscaling); None when the quad is degenerate."""
    quad = np.asarray(corners, np.float32).reshape(4, 2)
    if not np.all(np.isfinite(quad)):
        return None
    width = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    if width < MIN_RECTIFY_PX or height < MIN_RECTIFY_PX / 3:
        return None
    # A self-intersecting or folded quad (corners out of order) is not a plate outline.
    edges = np.roll(quad, -1, axis=0) - quad
    following = np.roll(edges, -1, axis=0)
    turns = edges[:, 0] * following[:, 1] - edges[:, 1] * following[:, 0]
    if not (np.all(turns > 0) or np.all(turns < 0)):
        return None
    out_w = max(MIN_CROP_PX, round(width * (1 + 2 * margin_x)))
    out_h = max(MIN_CROP_PX, round(height * (1 + 2 * margin_y)))
    left, top = width * margin_x, height * margin_y
    target = np.array(
        [[left, top], [left + width, top], [left + width, top + height], [left, top + height]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(
        frame, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def reader_crops(frame: np.ndarray, detection: PlateDetection) -> list[np.ndarray]:
    """What the reader reads for one detection: the box crop, then the rectified plate when the
    detection has usable corners."""
    crops = [crop_plate(frame, detection)]
    if detection.corners is not None:
        rectified = rectify_plate(frame, detection.corners)
        if rectified is not None:
            crops.append(rectified)
    return crops


def best_reading(readings: Sequence[PlateReading]) -> PlateReading:
    """The reading to keep among several of one plate: valid plates first, then the most probable."""
    if not readings:
        raise ValueError("no readings to choose from")
    return max(readings, key=lambda r: (r.valid, r.confidence))


def read_plates(
    read: Callable[[list[np.ndarray]], list[PlateReading]],
    frame: np.ndarray,
    detections: Sequence[PlateDetection],
) -> list[tuple[PlateDetection, np.ndarray, PlateReading]]:
    """Each detection with its box crop and its best reading, all crops read in one call to `read`.

    A detection whose box lies outside the frame (it can happen at the edge) is skipped.
    """
    groups: list[tuple[PlateDetection, list[np.ndarray]]] = []
    for detection in detections:
        try:
            groups.append((detection, reader_crops(frame, detection)))
        except ValueError as exc:
            log.debug("no crop for box %s: %s", detection.box, exc)
    if not groups:
        return []
    readings = read([crop for _, crops in groups for crop in crops])
    if len(readings) != sum(len(crops) for _, crops in groups):
        raise RuntimeError(f"the reader returned {len(readings)} readings for the crops it was given")
    results = []
    at = 0
    for detection, crops in groups:
        results.append((detection, crops[0], best_reading(readings[at : at + len(crops)])))
        at += len(crops)
    return results
