"""Small real plate models and clips for testing the agent's plumbing without the neural models.

The "plates" are saturated coloured rectangles on a gray road. `ColourPlateDetector` finds them
by thresholding saturation, `ColourPlateReader` reads a plate text from a table keyed by the
crop's hue. Both implement the real PlateDetector / PlateReader protocols, so capture, tracking,
voting, batching, events and sinks run exactly as with the ONNX models.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from common.plates.reading import PlateReading
from edge.inference.protocols import PlateDetection

# Hue (OpenCV 0..179) of each test plate colour and the plate it carries.
PLATE_COLOURS: dict[str, tuple[int, str, str]] = {
    "red": (0, "А123ВС77", "A123BC77"),
    "green": (60, "Е456КМ99", "E456KM99"),
    "blue": (120, "О789РТ50", "O789PT50"),
}
BACKGROUND = (110, 110, 110)


def bgr_of(colour: str) -> tuple[int, int, int]:
    hue = PLATE_COLOURS[colour][0]
    pixel = cv2.cvtColor(np.uint8([[[hue, 230, 220]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


class ColourPlateDetector:
    """Saturated rectangles are plates; thread-safe (no state)."""

    thread_safe = True  # stateless, like an ONNX Runtime session: no detector lock needed

    def __init__(self, min_area: int = 100) -> None:
        self.min_area = min_area
        self.calls = 0

    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        self.calls += 1
        hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
        mask = cv2.inRange(hsv, (0, 150, 100), (179, 255, 255))
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w * h >= self.min_area:
                found.append(PlateDetection(box=(float(x), float(y), float(x + w), float(y + h)), score=0.9))
        return found


class ColourPlateReader:
    """Reads the plate of the crop's mean hue; `mistakes` makes chosen reads wrong in one character."""

    def __init__(self, confidence: float = 0.95, mistakes: Sequence[int] = ()) -> None:
        self.confidence = confidence
        self.mistakes = set(mistakes)  # indices (in read order) of readings to get wrong
        self.batches: list[int] = []
        self.reads = 0
        self._lock = threading.Lock()

    def read(
        self,
        crops: Sequence[np.ndarray],
        at_least: Sequence[float] | None = None,
        plate_ids: Sequence[int] | None = None,
    ) -> list[PlateReading]:
        with self._lock:
            self.batches.append(len(crops))
            out = []
            for crop in crops:
                index = self.reads
                self.reads += 1
                out.append(self._read_one(crop, wrong=index in self.mistakes))
            return out

    def _read_one(self, crop: np.ndarray, wrong: bool) -> PlateReading:
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        saturated = hsv[..., 1] > 150
        if not saturated.any():
            return PlateReading(text="", latin="", confidence=0.0)
        hues = hsv[..., 0][saturated].astype(int)
        hue = int(np.median(np.where(hues > 150, hues - 180, hues)))
        colour = min(PLATE_COLOURS, key=lambda c: abs(PLATE_COLOURS[c][0] - hue))
        _, text, latin = PLATE_COLOURS[colour]
        if wrong:  # one misread digit, the commonest OCR error
            text, latin = text[:1] + "8" + text[2:], latin[:1] + "8" + latin[2:]
        return PlateReading(text, latin, self.confidence, country="RU", format="standard", valid=not wrong)


@dataclass(frozen=True)
class Passing:
    """A plate that crosses the frame left to right from `start` for `frames` frames."""

    colour: str
    start: int
    frames: int
    y: int = 200


def render_frame(index: int, passings: Sequence[Passing], size: tuple[int, int] = (640, 360)) -> np.ndarray:
    w, h = size
    frame = np.full((h, w, 3), BACKGROUND, np.uint8)
    for p in passings:
        t = index - p.start
        if 0 <= t < p.frames:
            x = int(20 + (w - 140) * t / max(1, p.frames - 1))
            cv2.rectangle(frame, (x, p.y), (x + 100, p.y + 24), bgr_of(p.colour), -1)
    return frame


def write_clip(
    path: Path, passings: Sequence[Passing], total_frames: int, fps: float = 25.0,
    size: tuple[int, int] = (640, 360), codec: str = "MJPG",
) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    assert writer.isOpened(), f"cannot write {path}"
    for index in range(total_frames):
        writer.write(render_frame(index, passings, size))
    writer.release()
    return path
