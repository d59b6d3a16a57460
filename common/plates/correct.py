"""Position-aware correction of OCR errors, guided by the formats' slots.

Each format is unrolled into fixed-length *layouts* (one per combination of slot lengths); a
layout says, position by position, which glyphs may stand there, and ties the positions of a
table slot (region codes) to the table's entries. A reading is compared with every layout of
its length, and of its length +-1 (a glyph read twice or missed), at the cost of the
substitutions it would take (``common.plates.confusions``: O->0 is cheap, O->7 is not).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from common.plates.confusions import (
    DOUBLED_GLYPH_COST,
    EDGE_GLYPH_COST,
    MISSED_GLYPH_COST,
    SPURIOUS_GLYPH_COST,
    substitution_cost,
)
from common.plates.decode import country_prior
from common.plates.formats import PlateFormat
from common.plates.normalize import SEPARATORS, normalize_plate
from common.plates.registry import FormatRegistry, load_registry

# Cyrillic letters that are no plate letter but that people and Cyrillic OCR engines produce
# for plate glyphs; the corrector reads them as the glyph they resemble.
LENIENT_GLYPHS = {"Ч": "4", "З": "3", "Б": "6", "Ё": "E", "Й": "N", "И": "N", "Г": "T", "П": "N"}
_WILDCARD = "?"
# Alternatives kept per layout segment; more only matter for costs above any useful threshold.
_ALTERNATIVES = 3


@dataclass(frozen=True)
class Correction:
    """A valid plate near the reading. ``score`` = exp(-cost): 1.0 for an unchanged plate."""

    text: str
    latin: str
    cost: float
    country: str
    format: str
    region_name: str | None
    edits: tuple[str, ...]

    @property
    def score(self) -> float:
        return math.exp(-self.cost)

    @property
    def format_key(self) -> str:
        return f"{self.country}/{self.format}"


# A segment: the glyph strings allowed at a run of positions (one position for a glyph set).
Segment = tuple[str, ...]


@lru_cache(maxsize=1024)
def layouts(fmt: PlateFormat) -> dict[int, list[tuple[Segment, ...]]]:
    """The format unrolled: total length -> layouts, each a tuple of segments."""
    per_slot: list[list[tuple[Segment, ...]]] = []
    for slot in fmt.slots:
        options: list[tuple[Segment, ...]] = []
        if slot.kind == "chars":
            for n in range(slot.min_len, slot.max_len + 1):
                options.append(tuple(tuple(slot.charset) for _ in range(n)))
        else:
            for n in slot.allowed_lengths():
                options.append((tuple(c for c in slot.choices if len(c) == n),) if n else ())
        per_slot.append(options)
    out: dict[int, list[tuple[Segment, ...]]] = {}
    for combo in itertools.product(*per_slot):
        segments = tuple(seg for part in combo for seg in part)
        length = sum(len(seg[0]) for seg in segments)
        out.setdefault(length, []).append(segments)
    return out


@lru_cache(maxsize=65536)
def _segment_options(segment: Segment, observed: str) -> tuple[tuple[float, str], ...]:
    """Cheapest ways to fill ``segment`` given the glyphs read there (cached: segments repeat)."""
    if _WILDCARD not in observed and observed in segment:
        return ((0.0, observed),)
    scored = []
    for option in segment:
        cost = 0.0
        for read, actual in zip(observed, option, strict=True):
            if read != _WILDCARD and read != actual:
                cost += substitution_cost(read, actual)
        scored.append((cost, option))
    scored.sort()
    return tuple(scored[:_ALTERNATIVES])


def _fit(glyphs: str, segments: tuple[Segment, ...], budget: float) -> list[tuple[float, str]]:
    """Cheapest fillings of a layout for ``glyphs`` (same length) within ``budget``: the best
    and, where a segment had to change, the same with that segment's runner-up."""
    options: list[tuple[tuple[float, str], ...]] = []
    base_cost = 0.0
    pos = 0
    for seg in segments:
        width = len(seg[0])
        opts = _segment_options(seg, glyphs[pos : pos + width])
        base_cost += opts[0][0]
        if base_cost > budget:
            return []
        options.append(opts)
        pos += width
    base = [opts[0][1] for opts in options]
    results = [(base_cost, "".join(base))]
    for i, opts in enumerate(options):
        for cost, option in opts[1:]:
            total = base_cost - opts[0][0] + cost
            if total <= budget:
                variant = base.copy()
                variant[i] = option
                results.append((total, "".join(variant)))
    return results


def _lenient_glyphs(text: str) -> str:
    mapped = "".join(LENIENT_GLYPHS.get(ch, ch) for ch in text.upper() if ch not in SEPARATORS)
    return normalize_plate(mapped)


def _readings(glyphs: str) -> list[tuple[str, float, tuple[str, ...]]]:
    """The reading itself, and with one glyph dropped or one added back, at the cost of that."""
    out = [(glyphs, 0.0, ())]
    last = len(glyphs) - 1
    for i, ch in enumerate(glyphs):
        doubled = (i > 0 and glyphs[i - 1] == ch) or (i < last and glyphs[i + 1] == ch)
        cost = DOUBLED_GLYPH_COST if doubled else EDGE_GLYPH_COST if i in (0, last) else SPURIOUS_GLYPH_COST
        out.append((glyphs[:i] + glyphs[i + 1 :], cost, (f"dropped '{ch}' at {i + 1}",)))
    for i in range(len(glyphs) + 1):
        inserted = (f"inserted a glyph at {i + 1}",)
        out.append((glyphs[:i] + _WILDCARD + glyphs[i:], MISSED_GLYPH_COST, inserted))
        if i < len(glyphs) and (i == 0 or glyphs[i - 1] != glyphs[i]):
            # A CTC reader that missed the blank between two equal glyphs read them as one.
            repeated = glyphs[:i] + glyphs[i] + glyphs[i:]
            out.append((repeated, DOUBLED_GLYPH_COST, (f"doubled '{glyphs[i]}' at {i + 1}",)))
    return out


def correct(
    text: str,
    registry: FormatRegistry | None = None,
    countries: Sequence[str] | None = None,
    priors: Mapping[str, float] | None = None,
    max_candidates: int = 5,
    max_cost: float = 2.0,
) -> list[Correction]:
    """Valid plates near ``text``, cheapest first (an already valid plate comes first at cost 0).

    Ties in cost are broken by country prior times format weight. Raises ValueError for text
    with characters that no plate or look-alike explains.
    """
    registry = registry or load_registry()
    glyphs = _lenient_glyphs(text)
    formats = registry.formats_for(countries)
    # One entry per plate text and country: the square and the one-row layout of a plate are
    # the same plate to whoever reads the correction.
    best: dict[tuple[str, str], tuple[float, float, str, PlateFormat, tuple[str, ...]]] = {}
    for reading, extra, edits in _readings(glyphs):
        if extra > max_cost:
            continue
        for fmt in formats:
            for segments in layouts(fmt).get(len(reading), ()):
                for cost, latin in _fit(reading, segments, max_cost - extra):
                    total = cost + extra
                    key = (latin, fmt.country)
                    prior = country_prior(priors, fmt.country) * fmt.weight
                    if key not in best or (total, -prior) < (best[key][0], -best[key][1]):
                        best[key] = (total, prior, latin, fmt, edits)
    ranked = sorted(best.values(), key=lambda b: (b[0], -b[1], b[2]))
    out: list[Correction] = []
    for total, _, latin, fmt, edits in ranked[:max_candidates]:
        parsed = fmt.parse(latin)
        if parsed is None:
            raise AssertionError(f"layout of {fmt.key} produced {latin!r}, which the format rejects")
        out.append(
            Correction(
                text=parsed.canonical,
                latin=latin,
                cost=round(total, 6),
                country=fmt.country,
                format=fmt.id,
                region_name=parsed.region_name,
                edits=edits or _substitutions(glyphs, latin),
            )
        )
    return out


def _substitutions(before: str, after: str) -> tuple[str, ...]:
    if len(before) != len(after):
        return ()
    pairs = enumerate(zip(before, after, strict=True))
    return tuple(f"'{a}'->'{b}' at {i + 1}" for i, (a, b) in pairs if a != b)
