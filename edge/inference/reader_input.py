"""The plate reader's input: one place that turns BGR plate crops into the network's tensor.

Training, INT8 calibration and the runtime all call these functions, so what the network sees
never differs between them. Two-row plates are read as one line: the crop is cut at half height
and the two halves are laid side by side (top row first), so CTC reads them in plate order.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

READER_HEIGHT = 32
READER_WIDTH = 160
# Below this width/height ratio a crop may hold a two-row plate (a tilted one-row plate can too).
TWO_ROW_MAX_ASPECT = 2.8
# Flat crops (a blank panel, a blown-out frame) are not stretched into noise.
MIN_STD = 8.0


def check_crop(crop: np.ndarray) -> None:
    """Raise ValueError, saying why, for anything that is not a usable uint8 plate crop."""
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8:
        raise ValueError("a plate crop must be a uint8 numpy array")
    if crop.ndim not in (2, 3) or (crop.ndim == 3 and crop.shape[2] not in (1, 3)):
        raise ValueError(f"a plate crop must be HxW gray or HxWx3 BGR, got shape {crop.shape}")
    if crop.shape[0] < 2 or crop.shape[1] < 2:
        raise ValueError(f"plate crop too small: {crop.shape[1]}x{crop.shape[0]} px")


def _resize(gray: np.ndarray, width: int, height: int) -> np.ndarray:
    interp = cv2.INTER_AREA if gray.shape[1] > width else cv2.INTER_LINEAR
    return cv2.resize(gray, (width, height), interpolation=interp)


def reader_image(
    crop: np.ndarray, two_row: bool = False, height: int = READER_HEIGHT, width: int = READER_WIDTH
) -> np.ndarray:
    """Gray uint8 (height, width) image of one crop as the reader sees it, before normalisation."""
    check_crop(crop)
    gray = (
        crop
        if crop.ndim == 2
        else (crop[..., 0] if crop.shape[2] == 1 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))
    )
    if not two_row:
        return _resize(gray, width, height)
    mid = gray.shape[0] // 2
    top, bottom = gray[:mid], gray[mid:]
    return np.hstack([_resize(top, width // 2, height), _resize(bottom, width - width // 2, height)])


def normalise(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 -> (N, 1, H, W) float32, each image standardised (exposure-invariant)."""
    x = images.astype(np.float32)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2), keepdims=True), MIN_STD)
    return ((x - mean) / std)[:, None, :, :]


def reader_images(
    crops: Sequence[np.ndarray],
    two_row: Sequence[bool] | None = None,
    height: int = READER_HEIGHT,
    width: int = READER_WIDTH,
) -> np.ndarray:
    """uint8 (N, H, W) reader images of the crops (`reader_image` of each), before normalisation."""
    if len(crops) == 0:
        return np.zeros((0, height, width), np.uint8)
    flags = [False] * len(crops) if two_row is None else list(two_row)
    if len(flags) != len(crops):
        raise ValueError("two_row must have one flag per crop")
    return np.stack([reader_image(c, f, height, width) for c, f in zip(crops, flags, strict=True)])


def prepare_reader_batch(
    crops: Sequence[np.ndarray],
    two_row: Sequence[bool] | None = None,
    height: int = READER_HEIGHT,
    width: int = READER_WIDTH,
) -> np.ndarray:
    """float32 (N, 1, H, W) network input for BGR (or gray) uint8 plate crops."""
    return normalise(reader_images(crops, two_row, height, width))


def may_be_two_row(crop: np.ndarray) -> bool:
    """Whether a crop's shape allows a two-row plate (then the reader tries both readings)."""
    h, w = crop.shape[:2]
    return w < TWO_ROW_MAX_ASPECT * h
