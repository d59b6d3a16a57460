"""The reader's input crops from a detection, in several views of the same plate.

Views: the axis-aligned box, the plate rectified by its four predicted corners, and each of
those cut a little wider and a little tighter. The box alone leaves a tilted plate tilted and,
when the detector's box is loose, small; the rectified crop undoes perspective but depends on
the corner estimate; and on real photos the reader's reading swings with a few pixels of margin.
No view is best everywhere, so the reader reads several and the most probable valid reading
wins (see `best_reading`). The extra views are read only for a detection whose first views
already found a plausible plate (a surer one from a weak box), so the detector's many false boxes
cost two reads, not six.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from common.config import CROP_VIEWS, CropView
from common.plates.reading import PlateReading
from common.plates.registry import load_registry
from edge.inference.protocols import PlateDetection

log = logging.getLogger(__name__)

__all__ = [
    "CROP_VIEWS",
    "FIRST_VIEWS",
    "PLAUSIBLE_CONFIDENCE",
    "CropView",
    "best_reading",
    "crop_plate",
    "read_plates",
    "reader_crops",
    "rectify_plate",
    "view_crop",
]

MIN_CROP_PX = 2
# Margins around the rectified plate, as fractions of its width and height: what the reader sees
# around a box-cut plate too, and room for corners that land a little inside the plate.
RECTIFY_MARGIN_X = 0.04
RECTIFY_MARGIN_Y = 0.10
# Below this the corners say nothing a box crop does not.
MIN_RECTIFY_PX = 6.0
# Margins of each view (x, y; fractions of the plate's width and height, each side). The wide and
# tight views stay inside what the reader was trained on: box cuts with -3..+8 % of the width and
# -5..+12 % of the height around the plate, rectified plates with corners a few % off.
BOX_MARGINS: dict[str, tuple[float, float]] = {
    "box": (0.0, 0.0),
    "box_wide": (0.03, 0.06),
    "box_tight": (-0.015, -0.03),
}
RECTIFY_MARGINS: dict[str, tuple[float, float]] = {
    "rectified": (RECTIFY_MARGIN_X, RECTIFY_MARGIN_Y),
    "rectified_wide": (0.07, 0.16),
    "rectified_tight": (0.01, 0.04),
}
FIRST_VIEWS: tuple[CropView, ...] = ("box", "rectified")
# A valid reading at least this probable in the first views earns the extra views. On the real RU
# photos about 12 % of the detector's boxes at the snapshot threshold pass, and no plate read right
# with the extra views was below it.
PLAUSIBLE_CONFIDENCE = 1e-3
# ... from a box the detector is sure of. A weaker box needs a surer first reading: at the
# snapshot threshold most boxes under 0.5 are not plates (eu-dev: 11 a photo, 0.17 of them
# output), yet 2.6 a photo read as some country's plate at 1e-3; leaving out their extra views
# took the median photo from 78 to 68 ms (eu-dev, OpenVINO) and 73 to 60 ms (ONNX Runtime), no
# plate lost on eu-dev or ru-dev. The plates that needed extra views from a first reading under
# 0.1 (eu-dev FF788NK at 0.0015, 9343ZH68 at 0.018) came from boxes at 0.77-0.82.
STRONG_BOX_SCORE = 0.5
WEAK_BOX_PLAUSIBLE_CONFIDENCE = 0.1


class ReadCrops(Protocol):
    """`PlateReader.read`, bound: what `read_plates` reads crops with."""

    def __call__(
        self,
        crops: Sequence[np.ndarray],
        at_least: Sequence[float] | None = None,
        plate_ids: Sequence[int] | None = None,
    ) -> list[PlateReading]: ...


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


def view_crop(frame: np.ndarray, detection: PlateDetection, view: CropView) -> np.ndarray | None:
    """One view of the detection's plate; None when the view needs corners the detection lacks
    (or has degenerate). ValueError when the box lies outside the frame."""
    if view in BOX_MARGINS:
        fx, fy = BOX_MARGINS[view]
        if fx == 0 and fy == 0:
            return crop_plate(frame, detection)
        x1, y1, x2, y2 = detection.box
        dx, dy = fx * (x2 - x1), fy * (y2 - y1)
        return crop_plate(frame, PlateDetection((x1 - dx, y1 - dy, x2 + dx, y2 + dy), detection.score))
    if view not in RECTIFY_MARGINS:
        raise ValueError(f"unknown crop view {view!r}; known: {', '.join(CROP_VIEWS)}")
    if detection.corners is None:
        return None
    return rectify_plate(frame, detection.corners, *RECTIFY_MARGINS[view])


def reader_crops(
    frame: np.ndarray, detection: PlateDetection, views: Sequence[CropView] = FIRST_VIEWS
) -> list[np.ndarray]:
    """The detection's crops in `views` that it can give (a view needing corners may not)."""
    crops = []
    for view in views:
        crop = view_crop(frame, detection, view)
        if crop is not None:
            crops.append(crop)
    return crops


def best_reading(readings: Sequence[PlateReading]) -> PlateReading:
    """The reading to keep among several of one plate: valid plates first, then the most probable."""
    if not readings:
        raise ValueError("no readings to choose from")
    return max(readings, key=lambda r: (r.valid, r.confidence))


def _plausible(reading: PlateReading) -> bool:
    return reading.valid and reading.confidence >= PLAUSIBLE_CONFIDENCE


def _extra_views_floor(detection: PlateDetection) -> float:
    """How sure a first reading must be to earn the extra views: plausible from a strong box,
    surer from a weak box."""
    return PLAUSIBLE_CONFIDENCE if detection.score >= STRONG_BOX_SCORE else WEAK_BOX_PLAUSIBLE_CONFIDENCE


def _earns_extra_views(detection: PlateDetection, first: PlateReading) -> bool:
    return first.valid and first.confidence >= _extra_views_floor(detection)


def _first_floors(
    detections: Sequence[PlateDetection], min_confidence: float, extra_views: bool, reach_past_ends: bool
) -> list[float]:
    """Per detection, the least confidence at which a first reading is of any use: output at
    `min_confidence`, earning the extra views, or being carried past its ends (REACH_FROM). The
    decoder gives up below it (`PlateReader.read`'s `at_least`), which on a photo's many false
    boxes is most of the decoding; a reading it gives up on comes back invalid."""
    floors = []
    for detection in detections:
        floor = min_confidence
        if extra_views:
            floor = min(floor, _extra_views_floor(detection))
        if reach_past_ends:
            floor = min(floor, REACH_FROM)
        floors.append(floor)
    return floors


def read_plates(
    read: ReadCrops,
    frame: np.ndarray,
    detections: Sequence[PlateDetection],
    views: Sequence[CropView] = FIRST_VIEWS,
    extra_views: Sequence[CropView] = (),
    reach_past_ends: bool = False,
    min_confidence: float = 0.0,
) -> list[tuple[PlateDetection, np.ndarray, PlateReading]]:
    """Each detection with its box crop and its best reading.

    The crops of `views` are read for every detection in one call to `read`; the crops of
    `extra_views` in a second call, only for detections whose first reading is a plausible valid
    plate. A detection whose box lies outside the frame (it can happen at the edge) is skipped;
    one that gives none of `views` (no corners) is read from its box. `reach_past_ends`: see
    `_reach_past_ends`. `min_confidence`: the caller uses no reading less sure than this (its
    output threshold); first readings that nothing here uses either are not looked for, and come
    back invalid (0, the default, looks for every reading).
    """
    groups: list[tuple[PlateDetection, np.ndarray, list[np.ndarray]]] = []
    for detection in detections:
        try:
            box_crop = crop_plate(frame, detection)
            crops = reader_crops(frame, detection, views) or [box_crop]
        except ValueError as exc:
            log.debug("no crop for box %s: %s", detection.box, exc)
            continue
        groups.append((detection, box_crop, crops))
    if not groups:
        return []
    floors = _first_floors([det for det, _, _ in groups], min_confidence, bool(extra_views), reach_past_ends)
    firsts = _read_groups(read, [crops for _, _, crops in groups], floors if any(floors) else None)
    if extra_views:
        again = [i for i, reading in enumerate(firsts) if _earns_extra_views(groups[i][0], reading)]
        extra = [reader_crops(frame, groups[i][0], extra_views) for i in again]
        # Only a reading surer than the first one can replace it.
        beat = [firsts[i].confidence for i in again]
        for i, reading in zip(again, _read_groups(read, extra, beat), strict=True):
            firsts[i] = best_reading([firsts[i], reading])
    detections = [det for det, _, _ in groups]
    if reach_past_ends:
        _reach_past_ends(read, frame, detections, firsts)
    return [
        (det, box_crop if det is first else crop_plate(frame, det), reading)
        for det, (first, box_crop, _), reading in zip(detections, groups, firsts, strict=True)
    ]


# A detector box that stops short of one end of a plate gives a shorter reading, and that is
# often another country's valid plate (PL KR466WV read as HR KR466W: about 1 in 10 of eu-dev's
# boxes misses 9 % or more of the plate's width at one end). The box carried this far past each
# end (fraction of its width) is read too, and again past the end that gave more glyphs, up to
# END_REACH_ROUNDS times. Not past the right end of a plate that ends in a region box: there the
# flag beside the region code reads as a third region digit (RU Р426КВ14 as Р426КВ147).
END_REACH = 0.15
END_REACH_ROUNDS = 3
# Only readings this sure are carried further: the detector's many weak false boxes read as
# barely plausible plates and would cost two reads each for nothing.
REACH_FROM = 0.3


@functools.cache
def _ends_in_region_box(country: str | None, format_id: str | None) -> bool:
    if country is None or format_id is None:
        return False
    try:
        return "region_box" in load_registry().get(country, format_id).decorations
    except KeyError:
        return False


def _reach_past_ends(
    read: ReadCrops, frame: np.ndarray, detections: list[PlateDetection], readings: list[PlateReading]
) -> None:
    """Replace, in place, each valid reading at REACH_FROM or more with the reading of its box
    carried past one end when that one is valid and is the same glyphs with more at that end, and
    its detection with one of the carried box (no corners: they outlined the short box). A longer
    reading that changes any glyph read so far is not taken, so clutter beside a whole plate
    rarely costs it."""
    # (reading index, box, sides still to try: +1 past the right end, -1 past the left)
    open_ends = [
        (i, detections[i].box, (-1,) if _ends_in_region_box(reading.country, reading.format) else (1, -1))
        for i, reading in enumerate(readings)
        if reading.valid and reading.confidence >= REACH_FROM
    ]
    for _ in range(END_REACH_ROUNDS):
        if not open_ends:
            return
        tries = [(i, _carried(box, side), side) for i, box, sides in open_ends for side in sides]
        # A carried box holds the box it grew from, which `read_plates` already cut from the frame.
        crops = [crop_plate(frame, PlateDetection(box, 1.0)) for _, box, _ in tries]
        best: dict[int, tuple[PlateReading, tuple[float, float, float, float], int]] = {}
        read_past = read(crops, plate_ids=[i for i, _, _ in tries])
        for (i, box, side), farther in zip(tries, read_past, strict=True):
            old = readings[i].latin
            keeps = farther.latin.startswith(old) if side > 0 else farther.latin.endswith(old)
            if not (keeps and len(farther.latin) > len(old) and _plausible(farther)):
                continue
            if i not in best or farther.confidence > best[i][0].confidence:
                best[i] = (farther, box, side)
        for i, (farther, box, _side) in best.items():
            readings[i] = farther
            detections[i] = PlateDetection(box, detections[i].score)
        open_ends = [(i, box, (side,)) for i, (_, box, side) in best.items()]


def _carried(box: tuple[float, float, float, float], side: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    reach = END_REACH * (x2 - x1)
    return (x1, y1, x2 + reach, y2) if side > 0 else (x1 - reach, y1, x2, y2)


def _read_groups(
    read: ReadCrops, groups: list[list[np.ndarray]], at_least: Sequence[float] | None = None
) -> list[PlateReading]:
    """The best reading of each group of crops (the views of one plate; an empty group reads as an
    invalid empty plate), all crops read in one call; `at_least`: per group, see `PlateReader.read`."""
    flat = [crop for crops in groups for crop in crops]
    plate_ids = [g for g, crops in enumerate(groups) for _ in crops]
    if not flat:
        readings = []
    elif at_least is None:
        readings = read(flat, plate_ids=plate_ids)
    else:
        floors = [floor for crops, floor in zip(groups, at_least, strict=True) for _ in crops]
        readings = read(flat, floors, plate_ids)
    if len(readings) != len(flat):
        raise RuntimeError(f"the reader returned {len(readings)} readings for {len(flat)} crops")
    best: list[PlateReading] = []
    at = 0
    for crops in groups:
        best.append(best_reading(readings[at : at + len(crops)]) if crops else _NO_READING)
        at += len(crops)
    return best


_NO_READING = PlateReading("", "", 0.0, valid=False)
