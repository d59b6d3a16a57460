"""Gaps between a plate's glyph groups, measured on where the reader placed its glyphs.

Many glyph strings are plates of several countries: PL `SK321LE` is an Italian plate too, PL
`SO2048H` a Spanish one. Where the EU band cannot tell (it is a few pixels tall on a real crop,
edge.inference.band_reader), the layout still can: Poland prints SK 321LE (one gap), Italy
SK 321 LE (two); Poland SO 2048H, Spain SO-2048-H. The reader's own
CTC output places each glyph of a reading (`glyph_frames`), and a gap between groups lengthens the
step from one glyph's centre to the next by about half a glyph.

Steps are divided by the plate's median step, so the size of the plate and the width of its
typeface drop out. A layout (the glyph counts before each gap, `hyphens.group_gaps`) is scored by
the log-likelihood of the plate's steps: a step across one of its gaps drawn from one normal law,
a step within a group from another (constants below, measured on synthetic crops). A country
whose formats read the same glyphs with other gaps, and whose layout fits the plate better than
the reading's own country's, has its prior multiplied by the likelihood ratio (at most
SPACING_BOOST) and the reading is ranked again (edge.inference.reader), as the hyphen check
favours a country whose hyphens it sees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from common.plates.formats import PlateFormat
from common.plates.reading import PlateReading
from edge.inference.hyphens import by_glyph_count, glyph_centres, group_gaps

__all__ = ["SPACING_BOOST", "SpacingCheck", "layout_fit", "relative_steps"]

# Steps between neighbouring glyph centres, over the plate's median step, on 15,770 steps of
# synthetic one-row crops within the installation spec, 60 drawn per country for all 49 (INT8
# reader, seed 777, not the evaluation's): within a group, and across a gap between groups. Real
# plates keep their spacing more evenly (eu-dev's labelled boxes: 0.95 +- 0.12 and 1.45 +- 0.20),
# so the synthetic laws make the check the more cautious.
STEP_WITHIN = (0.94, 0.16)  # mean, standard deviation
STEP_ACROSS = (1.37, 0.32)
# A rival country's prior is multiplied by how many times likelier its layout makes the plate's
# steps than the reading's own country's layout, up to this: a quarter of the hyphen check's
# HYPHEN_BOOST, since the reader places glyphs only to a frame (4 px of 160) and typefaces space
# their groups unevenly. On 200 synthetic crops of each of 49 countries the plates read with
# their right glyphs and country went 8,038 -> 8,125 at this cap; at 20, 8,037 -> 8,121 (with the
# GB prefix plates spaced as before), one stray step more often outweighing the rest (GR plates
# taken for German ones).
SPACING_BOOST = 5.0
# Fewer steps than this say nothing about which of them is the wide one.
_MIN_STEPS = 3


def relative_steps(glyph_x: Sequence[float]) -> np.ndarray | None:
    """Steps between neighbouring glyph centres over their median; None for too few glyphs or
    a placement that does not move left to right."""
    steps = np.diff(np.asarray(glyph_x, dtype=np.float64))
    if len(steps) < _MIN_STEPS:
        return None
    median = float(np.median(steps))
    if median <= 0.0:
        return None
    return steps / median


def _log_normal_density(x: np.ndarray, law: tuple[float, float]) -> np.ndarray:
    mean, sd = law
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd * math.sqrt(2.0 * math.pi))


def layout_fit(steps: np.ndarray, gaps: Sequence[int]) -> float:
    """Log-likelihood of relative `steps` (len = glyphs - 1) for a layout with a gap after each
    glyph count in `gaps`."""
    across = np.zeros(len(steps), dtype=bool)
    for gap in gaps:
        if not 0 < gap <= len(steps):
            raise ValueError(f"a gap after glyph {gap} does not fit {len(steps) + 1} glyphs")
        across[gap - 1] = True
    return float(
        _log_normal_density(steps[across], STEP_ACROSS).sum()
        + _log_normal_density(steps[~across], STEP_WITHIN).sum()
    )


class SpacingCheck:
    """Which countries' layouts each crop's plate fits better than its reading's own country's,
    among those whose one-row formats read the same glyphs with other gaps (`formats`: those the
    reader may output)."""

    def __init__(self, formats: Sequence[PlateFormat]) -> None:
        self.formats = {fmt.key: fmt for fmt in formats}
        self._by_length = by_glyph_count([fmt for fmt in formats if fmt.rows == 1])

    def layouts(self, latin: str) -> dict[str, set[tuple[int, ...]]]:
        """Per country, the gap layouts of its one-row formats that read the glyphs `latin`."""
        found: dict[str, set[tuple[int, ...]]] = {}
        for fmt in self._by_length.get(len(latin), ()):
            if fmt.reads_glyphs(latin):
                found.setdefault(fmt.country, set()).add(tuple(group_gaps(fmt, latin)))
        return found

    def rivals(self, reading: PlateReading) -> dict[str, set[tuple[int, ...]]]:
        """The layouts of the other countries that read `reading`'s glyphs with gaps its own
        country never puts there; empty for an invalid or two-row reading."""
        own = self._own_country(reading)
        return {} if own is None else _rivals_of(own, self.layouts(reading.latin))

    def _own_country(self, reading: PlateReading) -> str | None:
        own = self.formats.get(reading.format_key or "")
        return own.country if reading.valid and own is not None and own.rows == 1 else None

    def rival_weights(
        self,
        readings: Sequence[PlateReading],
        images: np.ndarray,
        logprobs: np.ndarray,
        plate_ids: Sequence[int] | None = None,
    ) -> list[dict[str, float]]:
        """For each crop: each rival country (`rivals`) whose layout fits its plate better than
        every layout of its reading's own country, with the likelihood ratio (capped at
        SPACING_BOOST) to multiply its prior by. Each country's fit is averaged over the crops of
        one plate that read the same glyphs (`plate_ids`: crops with one id are views of one
        plate; by default each crop is its own), so one view's misplaced glyph moves no plate.
        `images`: the (N, H, W) reader images; `logprobs`: (N, T, C)."""
        ids = list(plate_ids) if plate_ids is not None else list(range(len(readings)))
        owns = [self._own_country(reading) for reading in readings]
        # The views of a plate mostly read the same glyphs: their layouts are looked up once.
        layouts = {r.latin: self.layouts(r.latin) for r, own in zip(readings, owns, strict=True) if own}
        rivals = [
            _rivals_of(own, layouts[r.latin]) if own else {} for r, own in zip(readings, owns, strict=True)
        ]
        fits: dict[tuple[int, str], dict[str, list[float]]] = {}
        for i, reading in enumerate(readings):
            if not rivals[i]:
                continue
            glyph_x = glyph_centres(images[i].shape[1], logprobs[i], reading.latin)
            steps = relative_steps(glyph_x) if glyph_x is not None else None
            if steps is None:
                continue
            plate = fits.setdefault((ids[i], reading.latin), {})
            for country, gap_sets in layouts[reading.latin].items():
                plate.setdefault(country, []).append(max(layout_fit(steps, gaps) for gaps in gap_sets))
        out: list[dict[str, float]] = []
        for i, reading in enumerate(readings):
            plate = fits.get((ids[i], reading.latin))
            if not rivals[i] or plate is None:
                out.append({})
                continue
            mine = float(np.mean(plate[owns[i]]))
            weights = {}
            for country in rivals[i]:
                better = float(np.mean(plate[country])) - mine
                if better > 0.0:
                    weights[country] = min(SPACING_BOOST, math.exp(better))
            out.append(weights)
        return out


def _rivals_of(own: str, layouts: dict[str, set[tuple[int, ...]]]) -> dict[str, set[tuple[int, ...]]]:
    """Of `layouts` (per country), those of other countries than `own` with gaps it never puts there."""
    mine = layouts.get(own, set())
    return {country: gaps - mine for country, gaps in layouts.items() if country != own and gaps - mine}
