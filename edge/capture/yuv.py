"""Decoded video kept as YUV 4:2:0 planes: grey views from the luma plane, BGR only where asked.

An H.264/H.265 decoder outputs YUV. Converting a whole 1080p frame to BGR costs ~3.4 ms, more
than a third of decoding it, and the motion gate and detector want only a small grey image: the
luma plane area-reduced is that image. Full-resolution BGR is made for the plate regions the
reader crops (`regions_to_bgr`) and, for an event's thumbnail, once for the whole frame (`to_bgr`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# Most cameras send limited-range ("TV") video: luma 16..235, chroma 16..240. Grey from a BGR
# frame (what the detector was trained on) is full range, so views are stretched by this table.
_LIMITED_TO_FULL = np.clip((np.arange(256) - 16) * 255.0 / 219.0 + 0.5, 0, 255).astype(np.uint8)
# OpenCV's I420 -> BGR assumes limited range; full-range ("JPEG") planes are squeezed into it first.
_FULL_TO_LIMITED_LUMA = np.round(16 + np.arange(256) * 219.0 / 255.0).astype(np.uint8)
_FULL_TO_LIMITED_CHROMA = np.round(128 + (np.arange(256) - 128) * 224.0 / 255.0).astype(np.uint8)

# Around a detected plate, the reader's crops reach at most ~16 % of its height and ~7 % of its
# width beyond the box, plus what a corner estimate adds; these margins cover that with room.
REGION_MARGIN_X = 0.5  # of the plate's width, each side
REGION_MARGIN_Y = 1.0  # of the plate's height, each side
REGION_MARGIN_PX = 8


@dataclass(frozen=True, slots=True)
class YuvPlanes:
    """One 4:2:0 frame: luma (h, w) and chroma (ceil(h/2), ceil(w/2)); views may be strided."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    full_range: bool = False  # JPEG range (0..255) rather than the usual limited range

    def __post_init__(self) -> None:
        h, w = self.y.shape
        chroma = ((h + 1) // 2, (w + 1) // 2)
        if self.y.dtype != np.uint8 or self.u.shape != chroma or self.v.shape != chroma:
            raise ValueError(
                f"4:2:0 planes need uint8 luma (h, w) and chroma (ceil(h/2), ceil(w/2)); got "
                f"{self.y.shape} {self.y.dtype}, {self.u.shape}, {self.v.shape}"
            )

    @property
    def hw(self) -> tuple[int, int]:
        return self.y.shape[0], self.y.shape[1]

    @property
    def nbytes(self) -> int:
        return self.y.size + self.u.size + self.v.size

    @classmethod
    def from_i420(cls, data: np.ndarray, full_range: bool = False) -> YuvPlanes:
        """Planes from one contiguous I420 buffer of shape (h * 3 / 2, w) (even h and w)."""
        rows, w = data.shape
        h = rows * 2 // 3
        if h % 2 or w % 2 or rows != h * 3 // 2:
            raise ValueError(f"an I420 buffer has h * 3 / 2 rows of w, with even h and w; got {data.shape}")
        chroma = data[h:].reshape(-1)
        quarter = (h // 2) * (w // 2)
        return cls(
            data[:h], chroma[:quarter].reshape(h // 2, w // 2), chroma[quarter:].reshape(h // 2, w // 2),
            full_range,
        )


def luma_view(planes: YuvPlanes, factor: int) -> np.ndarray:
    """The frame in grey, area-averaged by exactly `factor` (the right and bottom edges lose under
    `factor` pixels), in full range like grey from a BGR frame."""
    y = planes.y
    if factor > 1:
        h, w = y.shape
        h_used, w_used = h - h % factor, w - w % factor
        y = y[:h_used, :w_used]
        # OpenCV averages 2x2 blocks with SIMD; other factors take its generic path, ~6x slower
        # for 4 on 1080p (0.75 ms against 0.13 ms for two halvings). Same average, +-1 grey level.
        while factor % 2 == 0:
            y = cv2.resize(y, (y.shape[1] // 2, y.shape[0] // 2), interpolation=cv2.INTER_AREA)
            factor //= 2
        if factor > 1:
            size = (y.shape[1] // factor, y.shape[0] // factor)
            y = cv2.resize(y, size, interpolation=cv2.INTER_AREA)
    if planes.full_range:
        return np.ascontiguousarray(y)
    return cv2.LUT(y, _LIMITED_TO_FULL)


def to_bgr(planes: YuvPlanes) -> np.ndarray:
    """The whole frame in BGR."""
    h, w = planes.hw
    out = np.empty((h, w, 3), np.uint8)
    _convert_region(planes, 0, 0, h, w, out)
    return out


def plate_regions(
    boxes: Iterable[Sequence[float]], frame_hw: tuple[int, int]
) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right) around each box (x1, y1, x2, y2), with the reader's margins, on
    even coordinates inside the frame; empty regions are left out."""
    fh, fw = frame_hw
    regions = []
    for x1, y1, x2, y2 in boxes:
        mx = (x2 - x1) * REGION_MARGIN_X + REGION_MARGIN_PX
        my = (y2 - y1) * REGION_MARGIN_Y + REGION_MARGIN_PX
        top, left = max(0, int(y1 - my)) & ~1, max(0, int(x1 - mx)) & ~1
        bottom, right = min(fh, int(np.ceil(y2 + my))), min(fw, int(np.ceil(x2 + mx)))
        if bottom > top and right > left:
            regions.append((top, left, bottom, right))
    return regions


def regions_to_bgr(planes: YuvPlanes, regions: Iterable[tuple[int, int, int, int]]) -> np.ndarray:
    """A BGR image of the frame's size whose given regions hold the frame's pixels; the rest is
    black. The zeroed canvas is allocated lazily by the OS, so untouched pages cost no memory."""
    h, w = planes.hw
    out = np.zeros((h, w, 3), np.uint8)
    for top, left, bottom, right in regions:
        _convert_region(planes, top, left, bottom, right, out)
    return out


def _convert_region(planes: YuvPlanes, top: int, left: int, bottom: int, right: int, out: np.ndarray) -> None:
    """Convert rows top..bottom, columns left..right (top and left even) into `out`."""
    # OpenCV converts I420 in whole 2x2 blocks: round the region out to even size, then cut back.
    rh, rw = bottom - top, right - left
    eh, ew = rh + rh % 2, rw + rw % 2
    y = planes.y[top:bottom, left:right]
    u = planes.u[top // 2 : top // 2 + eh // 2, left // 2 : left // 2 + ew // 2]
    v = planes.v[top // 2 : top // 2 + eh // 2, left // 2 : left // 2 + ew // 2]
    buffer = np.empty((eh * 3 // 2, ew), np.uint8)
    buffer[:rh, :rw] = y
    if eh != rh:
        buffer[rh, :rw] = y[-1]
    if ew != rw:
        buffer[:eh, rw] = buffer[:eh, rw - 1]
    chroma = buffer[eh:].reshape(-1)
    quarter = (eh // 2) * (ew // 2)
    chroma[:quarter] = u.reshape(-1)
    chroma[quarter:] = v.reshape(-1)
    if planes.full_range:
        cv2.LUT(buffer[:eh], _FULL_TO_LIMITED_LUMA, dst=buffer[:eh])
        cv2.LUT(buffer[eh:], _FULL_TO_LIMITED_CHROMA, dst=buffer[eh:])
    out[top:bottom, left:right] = cv2.cvtColor(buffer, cv2.COLOR_YUV2BGR_I420)[:rh, :rw]
