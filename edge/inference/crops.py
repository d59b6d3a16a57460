"""The reader's input crop from a detector box.

The reader was trained on axis-aligned crops around the plate, like a detector's box, so the
crop is the box itself (clipped to the frame), without rectification: corners are not used,
because training never saw rectified plates.
"""

from __future__ import annotations

import math

import numpy as np

from edge.inference.protocols import PlateDetection

MIN_CROP_PX = 2


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
