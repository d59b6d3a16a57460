"""Whether a plate crop plainly shows dark glyphs on a light ground.

The reader sees standardised grey crops, and a misread first letter can turn an ordinary black-on-
white plate into a valid white-on-black military one (`С777ХА70` read `6777ХА70`). The registry
knows each format's colours, so the reader drops readings whose format has light glyphs when the
crop itself shows dark ones (`OnnxPlateReader`).

Measure: the energy of thin dark strokes (morphological black-hat) against thin light strokes
(top-hat) in the crop's middle, as a log ratio. Glyph strokes dominate both, whichever way round
the plate is printed; dirt, bolts and frames blur it, so only clear evidence counts.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH, reader_image

# Below this log ratio a crop counts as dark glyphs on a light ground. Chosen on synthetic crops
# of every format; rechecked on 300 light-glyph plates (RU military, police, diplomatic; sample
# seed 99): 3 (1 %) fall below it, down to -0.34, while 61 % of RU standard plates do. The 114
# real RU plates (all dark on light) range from -0.6 to 0.15: the measure errs towards "not
# sure", which vetoes nothing.
DARK_TEXT_LOG_RATIO = -0.2

# Measured on the reader's one-row input image, so strokes have the scale the kernel expects and
# the reader's own resize serves both.
_STROKE_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))


def stroke_log_ratio(crop: np.ndarray) -> float:
    """log(dark-stroke energy / light-stroke energy) in the middle of a uint8 BGR or grey crop,
    or of its reader image (`reader_input.reader_image`, which is used as it is)."""
    image = crop if crop.shape == (READER_HEIGHT, READER_WIDTH) else reader_image(crop)
    middle = image[4:28, 8:152]  # off the crop's margins, where car body and frame show
    dark = float(cv2.morphologyEx(middle, cv2.MORPH_BLACKHAT, _STROKE_KERNEL).sum(dtype=np.float64))
    light = float(cv2.morphologyEx(middle, cv2.MORPH_TOPHAT, _STROKE_KERNEL).sum(dtype=np.float64))
    return float(np.log((dark + 1.0) / (light + 1.0)))


def shows_dark_text(crop: np.ndarray) -> bool:
    """True when the crop (or its reader image) clearly shows dark glyphs on a light ground."""
    return stroke_log_ratio(crop) < DARK_TEXT_LOG_RATIO
