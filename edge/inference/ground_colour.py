"""Whether a colour plate crop plainly shows a ground that is not yellow, or not blue.

Dutch and Luxembourg plates are yellow, and their loose formats accept what other countries'
white plates misread or cut short become: Romanian `B21GSB` is a Dutch side code, Polish
`SL98181` missing its last digit a Luxembourg plate. The registry knows each format's ground
colour, so the reader drops readings of a yellow-ground format when the crop's ground is plainly
not yellow (`OnnxPlateReader`), as it drops light-glyph formats on dark glyphs
(`text_polarity`).

Russian police plates are white on blue, and their `L DDDD RR` takes a Romanian temporary plate
(`B 089414`, red on white) whole; where the crop's ground is plainly not blue, blue-ground
formats are dropped the same way.

Measure: in the crop's middle, the mean colour of its brighter 40 % (a plate's ground, whichever
glyphs it carries), as yellowness = min(red, green) - blue: yellow is red and green both above
blue, where a red cast lifts red alone. Only a crop that shows colour
counts: a grey (infrared) frame, or a crop whose colours all sit within a few levels of grey,
says nothing, and a warm cast (sodium lamps) only makes a white plate look more yellow, which
vetoes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

# Below this yellowness a colour crop's ground is not yellow. On the real photos, white plates
# reach 40 under warm light (ru-dev) and yellow French FNI plates 37-97 (eu-dev); eu-dev's
# Romanian dash-cam video turns white plates red (5 at most; 48 when yellowness took the mean of
# red and green, which let Dutch side codes read them). Of 300 synthetic Dutch and 300
# Luxembourg crops (every degradation), 13 of 534 colour crops fall below 30 (10 with the mean).
NOT_YELLOW_BELOW = 30.0
# Below this blueness (blue - max(red, green) of the crop's darker 60 %: the ground of a plate
# with light glyphs) a colour crop's ground is not blue. 300 synthetic Russian police crops
# (every degradation) measure 9 or more. The labelled plates of eu-dev and ru-dev (none blue)
# measure -116 to 33, 198 of 433 colour crops below 0; the Romanian temporary plate under a red
# cast -14.
NOT_BLUE_BELOW = 0.0
# A crop whose colours sit this close to grey (90th percentile of max - min over the channels)
# is treated as grey: infrared frames are exactly grey, colour photos of white plates show 5-80.
MIN_CHROMA = 6.0
_SIZE = (80, 20)


def _middle(crop: np.ndarray) -> np.ndarray | None:
    """The crop's middle as float BGR, or None for a grey crop (no colour to judge)."""
    if crop.ndim != 3 or crop.shape[2] != 3:
        return None
    small = cv2.resize(crop, _SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    middle = small[3:17, 6:74]  # off the crop's margins, where car body and frame show
    chroma = middle.max(axis=2) - middle.min(axis=2)
    if float(np.percentile(chroma, 90)) < MIN_CHROMA:
        return None
    return middle


def ground_yellowness(crop: np.ndarray) -> float | None:
    """min(red, green) - blue of the crop's brighter ground, or None for a grey crop."""
    middle = _middle(crop)
    if middle is None:
        return None
    grey = middle.mean(axis=2)
    blue, green, red = middle[grey >= np.percentile(grey, 60)].mean(axis=0)
    return float(min(red, green) - blue)


def ground_blueness(crop: np.ndarray) -> float | None:
    """blue - max(red, green) of the crop's darker 60 % (a light-glyph plate's ground), or None
    for a grey crop."""
    middle = _middle(crop)
    if middle is None:
        return None
    grey = middle.mean(axis=2)
    blue, green, red = middle[grey <= np.percentile(grey, 60)].mean(axis=0)
    return float(blue - max(red, green))


def shows_non_yellow_ground(crop: np.ndarray) -> bool:
    """True when a BGR crop plainly shows a plate ground that is not yellow."""
    yellowness = ground_yellowness(crop)
    return yellowness is not None and yellowness < NOT_YELLOW_BELOW


def shows_non_blue_ground(crop: np.ndarray) -> bool:
    """True when a BGR crop plainly shows a plate ground that is not blue."""
    blueness = ground_blueness(crop)
    return blueness is not None and blueness < NOT_BLUE_BELOW


_PLAINLY_NOT: dict[str, Callable[[np.ndarray], bool]] = {
    "yellow": shows_non_yellow_ground,
    "blue": shows_non_blue_ground,
}


class PlateGround:
    """What one crop's plate ground plainly is not, measured once per colour when first asked:
    few readings come up in a yellow- or blue-ground format."""

    def __init__(self, crop: np.ndarray) -> None:
        self.crop = crop
        self._verdicts: dict[str, bool] = {}

    def plainly_not(self, colour: str) -> bool:
        """True when the ground is plainly not `colour` (a registry colour name); colours
        without a check are never ruled out."""
        check = _PLAINLY_NOT.get(colour)
        if check is None:
            return False
        if colour not in self._verdicts:
            self._verdicts[colour] = check(self.crop)
        return self._verdicts[colour]
