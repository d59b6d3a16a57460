"""Hyphens between a plate's glyph groups, looked for on the reader's image of the crop.

Some glyph strings are plates of two countries: FR `AB123CD` is an Italian plate too, and the
EU band that names the country is a few pixels tall, so the band reader often cannot tell F
from I on a real crop (edge.inference.band_reader). The French plate prints a hyphen in each
gap between its groups (AB-123-CD), the Italian one a blank; the registry marks such formats
with the `hyphens` decoration. Once a reading is known, the reader's own CTC output places its
glyphs (`glyph_frames`), so each gap can be looked at: a hyphen is a short dark bar at half the
text's height, with the plate's ground above and below it.

Both hyphens are seen (at the threshold below, the INT8 reader placing the glyphs) on 91% of 150
synthetic FR SIV crops and 4.7% of 150 Italian ones; on eu-dev's labelled boxes, on 68% of the
82 real FR SIV plates (their hyphens are thinner than the renderer's) and 11% of the 65 Polish
seven-glyph plates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from common.plates.alphabet import encode
from common.plates.ctc import glyph_frames
from common.plates.formats import PlateFormat
from common.plates.reading import PlateReading

__all__ = [
    "HYPHEN_BOOST", "HYPHEN_MIN_CONTRAST", "HyphenCheck", "by_glyph_count", "glyph_centres", "group_gaps",
    "hyphen_contrast",
    "shows_hyphens",
]

# A gap shows a hyphen when its mid-height bar is this much darker than the ground above and
# below it, as a share of the text's contrast (ground minus ink). At 0.2 instead: synthetic FR
# SIV 85%, IT 4.0%; real FR SIV 57%, PL 3%; eu-dev's wrong country 8.9% against 7.3% at 0.15.
HYPHEN_MIN_CONTRAST = 0.15
# ... where the format has a single gap: one measurement errs more often than the weaker of two
# (synthetic Estonian 123 ABC plates, read as the Belgian 123-ABC, show a "hyphen" at 0.15 12% of
# the time and at 0.25 4%; Hungarian ABC-123 ones 94% and 90%).
HYPHEN_MIN_CONTRAST_ONE_GAP = 0.25
# Rows whose horizontal detail is at least this share of the busiest row's hold the text.
_TEXT_ROW_SHARE = 0.4
# Contrast below this many grey levels is no text to measure against.
_MIN_TEXT_CONTRAST = 16.0
# Too few text rows to tell a bar from the ground.
_MIN_TEXT_ROWS = 8
# A plate that shows a format's hyphens has that country's prior multiplied by this in the
# decoder: enough to outweigh the Italian format's tighter alphabet (1.4x), not a band code
# read at 0.3 (300x, edge.inference.band_reader): about the ratio of FR SIV plates to Italian
# ones that show both hyphens (91% against 4.7%, synthetic).
HYPHEN_BOOST = 20.0


def group_gaps(fmt: PlateFormat, latin: str) -> list[int]:
    """Glyph counts before each gap between the display groups of a one-row plate of `fmt`
    (FR SIV `AB123CD`: [2, 5])."""
    groups = fmt.layout(latin)[0]
    ends = np.cumsum([len(group) for group in groups])
    return [int(end) for end in ends[:-1]]


def _text_rows(image: np.ndarray, x0: int, x1: int) -> tuple[int, int]:
    """Top and bottom (exclusive) of the text: the run of rows around the busiest one (in the
    image's middle three fifths) whose left-right detail is high. Plate edges, frames and the
    ground are flat along a row; glyph strokes are not."""
    detail = np.abs(np.diff(image[:, x0:x1], axis=1)).mean(axis=1)
    detail = np.convolve(detail, np.ones(3) / 3, mode="same")
    height = len(detail)
    peak = height // 5 + int(np.argmax(detail[height // 5 : 4 * height // 5]))
    floor = _TEXT_ROW_SHARE * detail[peak]
    top, bottom = peak, peak
    while top > 0 and detail[top - 1] >= floor:
        top -= 1
    while bottom < height - 1 and detail[bottom + 1] >= floor:
        bottom += 1
    return top, bottom + 1


def hyphen_contrast(image: np.ndarray, glyph_x: Sequence[float], gaps: Sequence[int]) -> float:
    """How plainly the weakest of `gaps` shows a hyphen on a grey reader image (dark text on a
    light ground): the darkest mid-height row of the gap's middle half, against the ground
    above and below it, as a share of the text's contrast (about 0 for a blank gap, negative
    for a glyph's stroke, 0.3-0.6 for a clear hyphen). `glyph_x`: each glyph's centre in
    pixels; `gaps`: glyph counts before each gap."""
    if not gaps:
        raise ValueError("no gaps to look at")
    grey = image.astype(np.float32)
    x0, x1 = max(0, int(glyph_x[0])), min(grey.shape[1], int(glyph_x[-1]) + 1)
    if x1 - x0 < 2:
        return -1.0
    top, bottom = _text_rows(grey, x0, x1)
    rows = bottom - top
    if rows < _MIN_TEXT_ROWS:
        return -1.0
    ink = float(np.percentile(grey[top:bottom, x0:x1], 10))
    weakest = np.inf
    for gap in gaps:
        left, right = glyph_x[gap - 1], glyph_x[gap]
        a = round(left + 0.25 * (right - left))
        b = max(round(left + 0.75 * (right - left)), a + 1)
        profile = grey[top:bottom, a:b].mean(axis=1)
        middle = profile[int(0.3 * rows) : int(0.7 * rows) + 1]
        above = profile[int(0.08 * rows) : int(0.25 * rows) + 1].mean()
        below = profile[int(0.75 * rows) : int(0.92 * rows) + 1].mean()
        ground = min(above, below)
        weakest = min(weakest, (ground - float(middle.min())) / max(ground - ink, _MIN_TEXT_CONTRAST))
    return float(weakest)


def shows_hyphens(contrast: float, gaps: int) -> bool:
    """Whether `hyphen_contrast` over a plate's `gaps` gaps says it shows its hyphens."""
    return contrast >= (HYPHEN_MIN_CONTRAST if gaps > 1 else HYPHEN_MIN_CONTRAST_ONE_GAP)


def by_glyph_count(formats: Sequence[PlateFormat]) -> dict[int, list[PlateFormat]]:
    """`formats` under every glyph count a plate of theirs may have."""
    found: dict[int, list[PlateFormat]] = {}
    for fmt in formats:
        for length in range(fmt.min_length, fmt.max_length + 1):
            found.setdefault(length, []).append(fmt)
    return found


def glyph_centres(width: int, logprobs: np.ndarray, latin: str) -> list[float] | None:
    """Each glyph's centre, in pixels of a reader image `width` wide, on the (T, C)
    log-probabilities that read `latin`; None when they cannot spell it."""
    try:
        frames = glyph_frames(np.minimum(logprobs, 0.0), encode(latin))
    except ValueError:
        return None
    scale = width / logprobs.shape[0]
    return [(frame + 0.5) * scale for frame in frames]


class HyphenCheck:
    """Which hyphenated formats' hyphens each crop's plate shows, for readings that a format
    printed without them took (`formats`: those the reader may output)."""

    def __init__(self, formats: Sequence[PlateFormat]) -> None:
        self.formats = {fmt.key: fmt for fmt in formats}
        self.hyphenated = [fmt for fmt in formats if fmt.rows == 1 and "hyphens" in fmt.decorations]
        # Every valid reading of every crop asks, so by glyph count first.
        self._by_length = by_glyph_count(self.hyphenated)

    def reading_formats(self, latin: str) -> list[PlateFormat]:
        """The hyphenated formats that read the glyphs `latin` (glyph form, as `PlateReading.latin`)."""
        return [fmt for fmt in self._by_length.get(len(latin), ()) if fmt.reads_glyphs(latin)]

    def rivals(self, reading: PlateReading) -> list[PlateFormat]:
        """Hyphenated formats of other countries that read `reading`'s glyphs too, where its own
        format prints no hyphens."""
        own = self.formats.get(reading.format_key or "")
        if not reading.valid or own is None or "hyphens" in own.decorations:
            return []
        return [fmt for fmt in self.reading_formats(reading.latin) if fmt.country != own.country]

    def countries_seen(
        self,
        readings: Sequence[PlateReading],
        images: np.ndarray,
        logprobs: np.ndarray,
        plate_ids: Sequence[int] | None = None,
    ) -> list[frozenset[str]]:
        """For each crop whose reading has rivals (`rivals`): the countries of those whose
        hyphens some crop of the same plate shows (`plate_ids`: crops with one id are views of
        one plate; by default each crop is its own), read with that crop's own reading. Empty
        for the other crops. `images`: the (N, H, W) reader images; `logprobs`: (N, T, C)."""
        ids = list(plate_ids) if plate_ids is not None else list(range(len(readings)))
        rivals = [{fmt.country for fmt in self.rivals(reading)} for reading in readings]
        wanted: dict[int, set[str]] = {}
        for plate, countries in zip(ids, rivals, strict=True):
            wanted.setdefault(plate, set()).update(countries)
        seen: dict[int, set[str]] = {plate: set() for plate in wanted}
        for i, reading in enumerate(readings):
            plate = ids[i]
            missing = wanted[plate] - seen[plate]
            if not missing or not reading.valid:
                continue
            todo = [fmt for fmt in self.reading_formats(reading.latin) if fmt.country in missing]
            glyph_x = glyph_centres(images[i].shape[1], logprobs[i], reading.latin) if todo else None
            if glyph_x is None:
                continue
            contrast: dict[tuple[int, ...], float] = {}  # formats with the same gaps look alike
            for fmt in todo:
                gaps = tuple(group_gaps(fmt, reading.latin))
                if not gaps:  # one group: nothing between to look at
                    continue
                if gaps not in contrast:
                    contrast[gaps] = hyphen_contrast(images[i], glyph_x, gaps)
                if shows_hyphens(contrast[gaps], len(gaps)):
                    seen[plate].add(fmt.country)
        return [frozenset(countries & seen[ids[i]]) for i, countries in enumerate(rivals)]
