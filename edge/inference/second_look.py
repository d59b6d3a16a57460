"""A second, zoomed look at a detection whose crops gave no usable reading (still photos).

The detector sees every frame letterboxed into its 320x416 input, so a plate 100 px wide in a
1600 px photo is 26 px wide there, and its box is least accurate exactly where reading needs it
most: truncated by a few pixels at the left or right, or swollen to a holder frame or a car
front. Running the same detector again on a window around such a box, scaled so the plate fills
about a third of the input width, gives a tighter box and corners that the reader can use.

On the 110 real RU photos, looking again at the 3 strongest boxes of each photo that gave no
reading read 107 of 114 plates against 105 (INT8, with the models shipped before the
crooked-plate detector), and found 3 plates of background cars that the set does not label
(`models/MODEL_CARD.md`).
"""

from __future__ import annotations

import numpy as np

from edge.inference.protocols import PlateDetection, PlateDetector

# Window around a box: ZOOM_WIDTH box widths wide and ZOOM_HEIGHT box heights high, but at least
# ZOOM_MIN_HEIGHT_RATIO of its width high (so the plate's surroundings show, as in the scenes the
# detector learnt from) and at least ZOOM_MIN_ASPECT times as wide as high (the detector input is
# 416x320, so a taller window would waste its width).
ZOOM_WIDTH = 3.0
ZOOM_HEIGHT = 3.0
ZOOM_MIN_HEIGHT_RATIO = 0.6
ZOOM_MIN_ASPECT = 1.3
MIN_WINDOW_PX = 16


def zoom_window(
    box: tuple[float, float, float, float], frame_hw: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """(x1, y1, x2, y2) of the window to look at again, clipped to the frame; None when the
    clipped window is too small to hold a plate."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    width = (x2 - x1) * ZOOM_WIDTH
    height = max((y2 - y1) * ZOOM_HEIGHT, width * ZOOM_MIN_HEIGHT_RATIO)
    width = max(width, height * ZOOM_MIN_ASPECT)
    frame_h, frame_w = frame_hw
    wx1, wy1 = int(max(0.0, cx - width / 2.0)), int(max(0.0, cy - height / 2.0))
    wx2, wy2 = int(min(frame_w, cx + width / 2.0)), int(min(frame_h, cy + height / 2.0))
    if wx2 - wx1 < MIN_WINDOW_PX or wy2 - wy1 < MIN_WINDOW_PX:
        return None
    return wx1, wy1, wx2, wy2


def look_again(
    detector: PlateDetector, frame: np.ndarray, box: tuple[float, float, float, float]
) -> PlateDetection | None:
    """The strongest plate the detector finds in the zoom window around `box`, in frame pixels;
    None when it finds none there."""
    window = zoom_window(box, frame.shape[:2])
    if window is None:
        return None
    wx1, wy1, wx2, wy2 = window
    found = detector.detect(np.ascontiguousarray(frame[wy1:wy2, wx1:wx2]))
    if not found:
        return None
    return max(found, key=lambda d: d.score).shifted(wx1, wy1)
