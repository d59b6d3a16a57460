"""Which way round a plate crop's glyphs are printed: plainly dark on light, or maybe light on dark.

The reader sees standardised grey crops, and a misread first letter can turn an ordinary black-on-
white plate into a valid white-on-black military one (`С777ХА70` read `6777ХА70`). The registry
knows each format's colours, so the reader drops readings whose format has light glyphs when the
crop itself shows dark ones (`OnnxPlateReader`).

Measure: the energy of thin dark strokes (morphological black-hat) against thin light strokes
(top-hat) in the crop's middle, as a log ratio. Glyph strokes dominate both, whichever way round
the plate is printed; dirt, bolts and frames blur it, so only clear evidence counts.

The other way round, whether a crop may show light glyphs on a dark ground (then the reader also
reads it inverted): its bright pixels are the minority (`light_minority_skew`).
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


def _middle(crop: np.ndarray) -> np.ndarray:
    """The middle of a uint8 BGR or grey crop's reader image (`reader_input.reader_image`; a
    reader image is used as it is), off the margins where car body and frame show."""
    image = crop if crop.shape == (READER_HEIGHT, READER_WIDTH) else reader_image(crop)
    return image[4:28, 8:152]


def stroke_log_ratio(crop: np.ndarray) -> float:
    """log(dark-stroke energy / light-stroke energy) in the middle of a uint8 BGR or grey crop,
    or of its reader image."""
    middle = _middle(crop)
    dark = float(cv2.morphologyEx(middle, cv2.MORPH_BLACKHAT, _STROKE_KERNEL).sum(dtype=np.float64))
    light = float(cv2.morphologyEx(middle, cv2.MORPH_TOPHAT, _STROKE_KERNEL).sum(dtype=np.float64))
    return float(np.log((dark + 1.0) / (light + 1.0)))


def shows_dark_text(crop: np.ndarray) -> bool:
    """True when the crop (or its reader image) clearly shows dark glyphs on a light ground."""
    return stroke_log_ratio(crop) < DARK_TEXT_LOG_RATIO


# Above this skew a crop may show light glyphs on a dark ground, and the reader reads it inverted
# too (OnnxPlateReader). Glyphs cover a minority of a plate, so where the bright pixels are the
# minority the middle's mean sits above its median. The stroke ratio above cannot say so: thin dark
# gaps between white strokes pass for dark glyphs on a third of the synthetic LI plates (white on
# black). Chosen on 300 synthetic crops each of LI, RU military, police and diplomatic plates
# (sample seed 77, every country on, INT8): with the inverted reads kept whenever surer, 289 ->
# 297, 284 -> 293, 287 -> 292 and 283 -> 292 read right (0.1: 297, 294, 292, 293; 0.3: 295, 292,
# 292, 292; the reader's INVERTED_MARGIN of 1.5 then gives 296, 293, 291, 290), while
# 13 % of the crops `recognize` reads on eu-dev are inverted (0.1: 21 %; 0.3: 7 %). Synthetic
# dark-on-light plates measure -0.37 at the median and 0.28 at the 95th percentile.
LIGHT_TEXT_SKEW = 0.2
_LEVELS = np.arange(256, dtype=np.float64)


def light_minority_skew(crop: np.ndarray) -> float:
    """(mean - median) / standard deviation of the middle of a crop or its reader image: above 0
    when its bright pixels are the fewer."""
    # From the grey-level histogram: every crop the reader reads is measured, and this is several
    # times faster than numpy's median and standard deviation of the pixels.
    counts = np.bincount(_middle(crop).ravel(), minlength=256).astype(np.float64)
    n = counts.sum()
    mean = float(counts @ _LEVELS) / n
    std = float(np.sqrt(max(float(counts @ _LEVELS**2) / n - mean * mean, 0.0)))
    median = float(np.searchsorted(np.cumsum(counts), n / 2))
    return (mean - median) / max(std, 8.0)


def may_show_light_text(crop: np.ndarray) -> bool:
    """True when the crop (or its reader image) may show light glyphs on a dark ground."""
    return light_minority_skew(crop) > LIGHT_TEXT_SKEW
