"""Whether a colour plate crop plainly shows a ground that is not yellow.

Dutch and Luxembourg plates are yellow, and their loose formats accept what other countries'
white plates misread or cut short become: Romanian `B21GSB` is a Dutch side code, Polish
`SL98181` missing its last digit a Luxembourg plate. The registry knows each format's ground
colour, so the reader drops readings of a yellow-ground format when the crop's ground is plainly
not yellow (`OnnxPlateReader`), as it drops light-glyph formats on dark glyphs
(`text_polarity`).

Measure: in the crop's middle, the mean colour of its brighter 40 % (a plate's ground, whichever
glyphs it carries), as yellowness = mean(red, green) - blue. Only a crop that shows colour
counts: a grey (infrared) frame, or a crop whose colours all sit within a few levels of grey,
says nothing, and a warm cast (sodium lamps) only makes a white plate look more yellow, which
vetoes nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

# Below this yellowness a colour crop's ground is not yellow. On the real photos, white plates
# reach 55 under warm light (ru-dev) and 48 in eu-dev's colour-cast Romanian video, and yellow
# French FNI plates 94-150; of 300 synthetic Dutch and Luxembourg crops (every degradation),
# one colour crop falls below 30.
NOT_YELLOW_BELOW = 30.0
# A crop whose colours sit this close to grey (90th percentile of max - min over the channels)
# is treated as grey: infrared frames are exactly grey, colour photos of white plates show 5-80.
MIN_CHROMA = 6.0
_SIZE = (80, 20)


def ground_yellowness(crop: np.ndarray) -> float | None:
    """mean(red, green) - blue of the crop's brighter ground, or None for a grey crop."""
    if crop.ndim != 3 or crop.shape[2] != 3:
        return None
    small = cv2.resize(crop, _SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    middle = small[3:17, 6:74]  # off the crop's margins, where car body and frame show
    chroma = middle.max(axis=2) - middle.min(axis=2)
    if float(np.percentile(chroma, 90)) < MIN_CHROMA:
        return None
    grey = middle.mean(axis=2)
    blue, green, red = middle[grey >= np.percentile(grey, 60)].mean(axis=0)
    return float((red + green) / 2 - blue)


def shows_non_yellow_ground(crop: np.ndarray) -> bool:
    """True when a BGR crop plainly shows a plate ground that is not yellow."""
    yellowness = ground_yellowness(crop)
    return yellowness is not None and yellowness < NOT_YELLOW_BELOW
