"""What the pipeline needs from a plate detector and a plate reader, whatever runs them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from common.plates.reading import PlateReading


@dataclass(frozen=True)
class PlateDetection:
    """One plate found in a frame, in that frame's pixel coordinates."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    # Plate corners (top-left, top-right, bottom-right, bottom-left), shape (4, 2), when the
    # detector predicts them; lets the reader rectify a tilted plate.
    corners: np.ndarray | None = None

    def shifted(self, dx: float, dy: float) -> PlateDetection:
        """The same plate in the coordinates of a frame in which this one's frame starts at (dx, dy)."""
        x1, y1, x2, y2 = self.box
        corners = self.corners
        if corners is not None:
            corners = corners + np.array([dx, dy], dtype=corners.dtype)
        return PlateDetection((x1 + dx, y1 + dy, x2 + dx, y2 + dy), self.score, corners)


class PlateDetector(Protocol):
    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        """Plates in one BGR uint8 frame."""
        ...


@runtime_checkable
class ViewPlateDetector(PlateDetector, Protocol):
    """A detector that can also work from a reduced grey view of a frame, so a JPEG camera frame
    need not be decoded at full size to look for plates (edge.capture.frames.Frame.gray_view)."""

    def view_factor(self, frame_hw: tuple[int, int]) -> int:
        """How much a frame of this size may be reduced before `detect_view`."""
        ...

    def detect_view(
        self, view: np.ndarray, reduction: int, frame_hw: tuple[int, int]
    ) -> list[PlateDetection]:
        """Plates of a frame of size `frame_hw`, in frame pixels, from its view reduced by `reduction`."""
        ...


class PlateReader(Protocol):
    def read(
        self,
        crops: Sequence[np.ndarray],
        at_least: Sequence[float] | None = None,
        plate_ids: Sequence[int] | None = None,
    ) -> list[PlateReading]:
        """One reading per BGR uint8 plate crop, in order; batches internally.

        `at_least`: per crop, the confidence of a valid reading the caller already holds for
        that plate. A reading not surer than it is of no use to the caller, so the reader may
        return it as not valid instead, and save the work of finding it.
        `plate_ids`: per crop, which plate it shows (crops with the same id are views of one
        plate); what one view shows of the plate (its EU band's code) may then count for all."""
        ...
