"""Snapshot mode: plates in still images, with the same models and filters as the live pipeline.

Models are loaded once for all images. A file that cannot be read or decoded (missing, empty,
truncated, not an image, smaller than MIN_IMAGE_SIDE, or declaring more pixels than the limit in
its header) and a directory that cannot be listed yield a result with an `error` and no plates;
they never stop the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from common.config import CropView, DetectorConfig, ReaderConfig
from common.plates.reading import PlateReading
from edge.capture.image_header import DEFAULT_MAX_MEGAPIXELS, ImageHeaderError, image_size
from edge.inference.crops import FIRST_VIEWS, read_plates
from edge.inference.protocols import PlateDetection, PlateDetector, PlateReader
from edge.inference.second_look import look_again
from edge.inference.tiles import detect_in_tiles, detect_tiled, fine_windows
from edge.inference.turned_search import detect_turned
from edge.tracking.tracker import area, intersection, iou

# A plate read again, or in a second look, is the same plate as one already output above this.
SAME_PLATE_IOU = 0.3
# Two outputs of one text are one plate when this much of the smaller box lies in the other: a
# short box inside a long one reads the same string, at an IoU well under SAME_PLATE_IOU (eu-dev
# 006: RO B127GTA twice, the smaller box 22 % of the larger).
SAME_TEXT_INSIDE = 0.5

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# Smaller images hold no readable plate, and the detector's resizing is undefined for them.
MIN_IMAGE_SIDE = 16

log = logging.getLogger(__name__)


class UnreadableImage(ValueError):
    """An image file that cannot be decoded; the message says why."""


@dataclass(frozen=True)
class RecognizedPlate:
    text: str
    latin: str
    confidence: float
    box: tuple[int, int, int, int]
    country: str | None
    format: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "latin": self.latin,
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "country": self.country,
            "format": self.format,
        }


@dataclass
class ImageResult:
    image: str  # the path as given (or as found under a given directory)
    plates: list[RecognizedPlate] = field(default_factory=list)
    ms: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"image": self.image, "error": self.error, "plates": []}
        return {"image": self.image, "plates": [p.to_dict() for p in self.plates], "ms": round(self.ms, 1)}


def expand_paths(paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(path, None) for files as given and the image files of given directories (sorted, not
    recursive); (directory, why) for a directory that cannot be listed."""
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            yield given, None
            continue
        try:
            children = sorted(path.iterdir())
        except OSError as exc:
            yield given, f"cannot list directory: {exc.strerror or exc}"
            continue
        for child in children:
            if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                yield str(child), None


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if min(width, height) < MIN_IMAGE_SIDE:
        raise UnreadableImage(f"image is {width}x{height} px; each side must be at least {MIN_IMAGE_SIDE} px")
    if width * height > max_pixels:
        raise UnreadableImage(
            f"image is {width}x{height} px ({width * height / 1e6:.1f} MP); the limit is "
            f"{max_pixels / 1e6:.1f} MP"
        )


def load_image(path: str, max_pixels: int = int(DEFAULT_MAX_MEGAPIXELS * 1e6)) -> np.ndarray:
    """The image as BGR uint8; UnreadableImage says what is wrong with the file.

    The size is checked from the header before decoding, so an image bomb costs a header read.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UnreadableImage("file not found") from None
    except IsADirectoryError:
        raise UnreadableImage("is a directory") from None
    except OSError as exc:
        raise UnreadableImage(f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise UnreadableImage("empty file (0 bytes)")
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-64:]:
        # libjpeg decodes a cut-off JPEG into a gray-padded image with only a warning.
        raise UnreadableImage("truncated JPEG (no end-of-image marker)")
    try:
        _check_size(*image_size(data), max_pixels)
    except ImageHeaderError as exc:
        raise UnreadableImage(f"not a decodable image: {exc}") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableImage("not a decodable image")
    _check_size(image.shape[1], image.shape[0], max_pixels)  # the header could have lied
    return image


def distinct_plates(plates: Sequence[RecognizedPlate]) -> list[RecognizedPlate]:
    """The plates without repeats: of two with the same text whose boxes overlap by
    SAME_TEXT_INSIDE of the smaller one, only the surer stays."""
    kept: list[RecognizedPlate] = []
    for plate in sorted(plates, key=lambda p: -p.confidence):
        repeats = (k for k in kept if k.latin == plate.latin)
        if all(_inside_share(plate.box, k.box) < SAME_TEXT_INSIDE for k in repeats):
            kept.append(plate)
    return kept


def surer_of_each(
    held: Sequence[RecognizedPlate], found: Sequence[RecognizedPlate], sure: float
) -> list[RecognizedPlate]:
    """`held` with a later search's plates: a new plate joins them, and one read at `sure` or more
    whose box overlaps held ones (SAME_PLATE_IOU) replaces them where it is surer than all of them.
    An unsure reading of a poor box in one search (eu-dev's W 178 JZ, swollen by a second look:
    IH18JZ at 0.61) must not keep out the plate a later search read sure from a better box (W178JZ
    at 0.98); an unsure reading there is no better evidence than the one held (PH20CNP at 0.70 is
    kept against PH20CNF at 0.75)."""
    plates = list(held)
    for plate in found:
        overlapping = [p for p in plates if iou(plate.box, p.box) >= SAME_PLATE_IOU]
        if not overlapping:
            plates.append(plate)
        elif plate.confidence >= sure and all(plate.confidence > p.confidence for p in overlapping):
            plates = [p for p in plates if p not in overlapping] + [plate]
    return plates


def _inside_share(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    smaller = min(area(a), area(b))
    return intersection(a, b) / smaller if smaller > 0 else 0.0


class SnapshotRecognizer:
    def __init__(
        self,
        detector: PlateDetector,
        reader: PlateReader,
        detector_config: DetectorConfig,
        min_confidence: float,
        require_valid: bool = True,
        views: Sequence[CropView] = FIRST_VIEWS,
        extra_views: Sequence[CropView] = (),
        second_looks: int = 0,
        max_pixels: int = int(DEFAULT_MAX_MEGAPIXELS * 1e6),
        tile_above_px: int = 0,
        fine_search: bool = False,
        reach_past_ends: bool = False,
        fine_search_below: float = 0.0,
        turned_search: bool = False,
    ) -> None:
        self.detector = detector
        self.reader = reader
        self.detector_config = detector_config
        self.min_confidence = min_confidence
        self.require_valid = require_valid
        self.views = tuple(views)
        self.extra_views = tuple(extra_views)
        self.second_looks = second_looks
        self.max_pixels = max_pixels
        self.tile_above_px = tile_above_px
        self.fine_search = fine_search
        self.reach_past_ends = reach_past_ends
        self.fine_search_below = fine_search_below
        self.turned_search = turned_search

    @classmethod
    def from_config(
        cls,
        detector: PlateDetector,
        reader: PlateReader,
        detector_config: DetectorConfig,
        reader_config: ReaderConfig,
        min_confidence: float | None = None,
        max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
    ) -> SnapshotRecognizer:
        """The still-image settings of a device config: snapshot threshold, views and confidence."""
        return cls(
            detector,
            reader,
            detector_config,
            reader_config.snapshot_min_confidence if min_confidence is None else min_confidence,
            reader_config.require_valid,
            reader_config.views,
            reader_config.snapshot_extra_views,
            detector_config.snapshot_second_looks,
            int(max_megapixels * 1e6),
            detector_config.snapshot_tile_above_px,
            detector_config.snapshot_fine_search,
            reader_config.snapshot_reach_past_ends,
            detector_config.snapshot_fine_search_below,
            detector_config.snapshot_turned_search,
        )

    def recognize(self, image: np.ndarray) -> list[RecognizedPlate]:
        detections = detect_tiled(self.detector, image, self.tile_above_px)
        found = self._read(image, self._usable(detections))
        plates = self._accepted(image, found)
        if self.second_looks:
            plates += self._look_again(image, found, plates)
        if self.fine_search and self._nothing_sure(plates):
            plates = surer_of_each(plates, self._search_finer(image), self.fine_search_below)
        if self.turned_search and self._nothing_sure(plates):
            turned = self._search(image, detect_turned(self.detector, image))
            plates = surer_of_each(plates, turned, self.fine_search_below)
        return sorted(distinct_plates(plates), key=lambda p: (p.box[0], p.box[1]))

    def _nothing_sure(self, plates: Sequence[RecognizedPlate]) -> bool:
        return all(p.confidence < self.fine_search_below for p in plates)

    def _search_finer(self, image: np.ndarray) -> list[RecognizedPlate]:
        """Plates of a photo where nothing sure was read, searched again in tiles shrunk half as much."""
        windows = fine_windows((int(image.shape[0]), int(image.shape[1])))
        if not windows:
            return []
        return self._search(image, detect_in_tiles(self.detector, image, windows))

    def _search(self, image: np.ndarray, detections: Sequence[PlateDetection]) -> list[RecognizedPlate]:
        """The plates read from another search's boxes, with second looks at those that gave none."""
        found = self._read(image, self._usable(detections))
        plates = self._accepted(image, found)
        if self.second_looks:
            plates += self._look_again(image, found, plates)
        return plates

    def _read(
        self, image: np.ndarray, detections: Sequence[PlateDetection]
    ) -> list[tuple[PlateDetection, np.ndarray, PlateReading]]:
        return read_plates(
            self.reader.read, image, detections, self.views, self.extra_views, self.reach_past_ends,
            self.min_confidence,
        )

    def _accepted(
        self, image: np.ndarray, found: list[tuple[PlateDetection, np.ndarray, PlateReading]]
    ) -> list[RecognizedPlate]:
        return [self._plate(det, reading, image) for det, _crop, reading in found if self._accepts(reading)]

    def _look_again(
        self,
        image: np.ndarray,
        found: list[tuple[PlateDetection, np.ndarray, PlateReading]],
        plates: list[RecognizedPlate],
    ) -> list[RecognizedPlate]:
        """New plates from a zoomed second look at the strongest boxes that gave no reading, of
        those read as at least `snapshot_second_look_min_glyphs` glyphs."""
        unread = [
            (det, reading) for det, _crop, reading in found
            if not self._accepts(reading) and all(iou(det.box, p.box) < SAME_PLATE_IOU for p in plates)
        ]
        strongest = sorted(unread, key=lambda pair: -pair[0].score)[: self.second_looks]
        # A box read as fewer glyphs than that holds no plate text a zoom would complete.
        min_glyphs = self.detector_config.snapshot_second_look_min_glyphs
        usable: list[PlateDetection] = []
        for det in (det for det, reading in strongest if len(reading.latin) >= min_glyphs):
            again = look_again(self.detector, image, det.box)
            if again is None or not self._usable([again]):
                continue
            # Neighbouring boxes of one plate often zoom to the same box: read it once.
            if all(iou(again.box, u.box) < SAME_PLATE_IOU for u in usable):
                usable.append(again)
        new: list[RecognizedPlate] = []
        for det, _crop, reading in self._read(image, usable):
            plate = self._plate(det, reading, image)
            if self._accepts(reading) and all(iou(plate.box, p.box) < SAME_PLATE_IOU for p in plates + new):
                new.append(plate)
        return new

    def _usable(self, detections: Sequence[PlateDetection]) -> list[PlateDetection]:
        return [
            d for d in detections
            if d.score >= self.detector_config.snapshot_score_threshold
            and d.box[2] - d.box[0] >= self.detector_config.min_plate_width
        ]

    def _accepts(self, reading: PlateReading) -> bool:
        return reading.acceptable(self.min_confidence, self.require_valid)

    @staticmethod
    def _plate(det: PlateDetection, reading: PlateReading, image: np.ndarray) -> RecognizedPlate:
        h, w = image.shape[:2]
        x1, y1, x2, y2 = det.box
        box = (int(max(0, round(x1))), int(max(0, round(y1))), int(min(w, round(x2))), int(min(h, round(y2))))
        return RecognizedPlate(
            reading.text, reading.latin, reading.confidence, box, reading.country, reading.format
        )

    def run(self, paths: Iterable[str]) -> Iterator[ImageResult]:
        for path, listing_error in expand_paths(paths):
            if listing_error is not None:
                yield ImageResult(path, error=listing_error)
                continue
            started = time.perf_counter()
            try:
                image = load_image(path, self.max_pixels)
            except UnreadableImage as exc:
                yield ImageResult(path, error=str(exc))
                continue
            try:
                plates = self.recognize(image)
            except Exception as exc:  # one image the models choke on must not end a batch
                log.exception("recognition failed on %s", path)
                yield ImageResult(path, error=f"recognition failed: {type(exc).__name__}: {exc}")
                continue
            yield ImageResult(path, plates, (time.perf_counter() - started) * 1000.0)


def format_table(results: Iterable[ImageResult]) -> Iterator[str]:
    """Human-readable lines: one per plate, or per image without plates."""
    yield f"{'image':<40} {'plate':<12} {'latin':<12} {'conf':>5}  {'country/format':<16} box"
    for result in results:
        name = result.image if len(result.image) <= 40 else "…" + result.image[-39:]
        if result.error is not None:
            yield f"{name:<40} error: {result.error}"
            continue
        if not result.plates:
            yield f"{name:<40} (no plate)  [{result.ms:.0f} ms]"
        for plate in result.plates:
            kind = f"{plate.country or '?'}/{plate.format or '?'}"
            yield (
                f"{name:<40} {plate.text:<12} {plate.latin:<12} {plate.confidence:>5.2f}  {kind:<16} "
                f"{list(plate.box)}"
            )
