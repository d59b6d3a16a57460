"""Position-aware correction of OCR errors, guided by the formats' slots.

Each format is unrolled into fixed-length *layouts* (one per combination of slot lengths); a
layout says, position by position, which glyphs may stand there, and ties the positions of a
table slot (region codes) to the table's entries. A reading is compared with every layout of
its length, and of its length +-1 (a glyph read twice or missed), at the cost of the
substitutions it would take (``common.plates.confusions``: O->0 is cheap, O->7 is not).

Ranking is a noisy-channel decision: a candidate plate costs -log P(error | plate) (the
channel, in ``common.plates.confusions``) plus -log P(plate) relative to the likeliest plate of
the allowed formats (country traffic x device prior x the format's share of its country, and
the number of plates the format's layout can hold: a glyph drawn from 10 digits is likelier
than one drawn from 36 glyphs).
A reading that is already a valid plate is never corrected: it comes first, at cost 0.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from common.plates.confusions import (
    DOUBLED_GLYPH_COST,
    MISSED_GLYPH_COST,
    PHANTOM_END_COST,
    PHANTOM_START_COST,
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
# Cost bound of a correction (nats): one likely error with a prior penalty of a few nats; two
# random errors (about 15) are not offered.
DEFAULT_MAX_COST = 12.0


@dataclass(frozen=True)
class Correction:
    """A valid plate near the reading. ``cost`` is in nats (error channel plus plate prior, see
    the module doc); ``score`` = exp(-cost): 1.0 for an unchanged plate, about 0.04 for the
    likeliest single look-alike."""

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


# A layout: its segments, and -log P(a given plate | format) for plates of that layout.
Layout = tuple[tuple[Segment, ...], float]


@lru_cache(maxsize=1024)
def layouts(fmt: PlateFormat) -> dict[int, list[Layout]]:
    """The format unrolled: total length -> layouts with their plate prior (nats).

    Plates are taken as drawn slot by slot: a length uniformly among the slot's lengths, then
    each glyph uniformly from its set, or a table entry uniformly from the table.
    """
    per_slot: list[list[tuple[tuple[Segment, ...], float]]] = []
    for slot in fmt.slots:
        options: list[tuple[tuple[Segment, ...], float]] = []
        if slot.kind == "chars":
            lengths = slot.max_len - slot.min_len + 1
            for n in range(slot.min_len, slot.max_len + 1):
                nats = math.log(lengths) + n * math.log(len(slot.charset))
                options.append((tuple(tuple(slot.charset) for _ in range(n)), nats))
        else:
            nats = math.log(len(slot.choices))
            for n in slot.allowed_lengths():
                options.append(((tuple(c for c in slot.choices if len(c) == n),) if n else (), nats))
        per_slot.append(options)
    out: dict[int, list[Layout]] = {}
    for combo in itertools.product(*per_slot):
        segments = tuple(seg for part, _ in combo for seg in part)
        length = sum(len(seg[0]) for seg in segments)
        out.setdefault(length, []).append((segments, sum(nats for _, nats in combo)))
    return out


def _format_priors(formats: Sequence[PlateFormat], priors: Mapping[str, float] | None) -> dict[int, float]:
    """-log P(format) among ``formats`` (by id), from the country's traffic x device prior x the
    format's share of its country (as ``common.plates.decode.format_log_prior``)."""
    weights = {id(f): country_prior(priors, f.country) * f.traffic * f.country_share for f in formats}
    total = sum(weights.values())
    return {k: -math.log(w / total) for k, w in weights.items()}


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


def _run(glyphs: str, i: int) -> int:
    """Length of the run of equal glyphs that holds position ``i``."""
    start, end = i, i
    while start > 0 and glyphs[start - 1] == glyphs[i]:
        start -= 1
    while end + 1 < len(glyphs) and glyphs[end + 1] == glyphs[i]:
        end += 1
    return end - start + 1


def _readings(glyphs: str) -> list[tuple[str, float, tuple[str, ...]]]:
    """The reading itself, and with one glyph dropped or one added back, at the cost of that.

    A doubled glyph or a repeat put back is explained by every glyph of the plate's run
    (doubling either 7 of 77 reads 777), so its probability counts once per glyph of the run.
    """
    out = [(glyphs, 0.0, ())]
    last = len(glyphs) - 1
    for i, ch in enumerate(glyphs):
        if i > 0 and glyphs[i - 1] == ch:
            continue  # the same reading as dropping the run's first glyph
        run = _run(glyphs, i)
        costs = [DOUBLED_GLYPH_COST - math.log(run - 1)] if run > 1 else []
        if i == 0:
            costs.append(PHANTOM_START_COST)
        if i + run - 1 == last:
            costs.append(PHANTOM_END_COST)
        costs.append(SPURIOUS_GLYPH_COST)
        out.append((glyphs[:i] + glyphs[i + 1 :], min(costs), (f"dropped '{ch}' at {i + 1}",)))
    for i in range(len(glyphs) + 1):
        inserted = (f"inserted a glyph at {i + 1}",)
        if i < len(glyphs) and (i == 0 or glyphs[i - 1] != glyphs[i]):
            # A CTC reader that missed the blank between two equal glyphs read them as one.
            repeated = glyphs[:i] + glyphs[i] + glyphs[i:]
            cost = MISSED_GLYPH_COST - math.log(_run(glyphs, i) + 1)
            out.append((repeated, cost, (f"doubled '{glyphs[i]}' at {i + 1}",)))
        out.append((glyphs[:i] + _WILDCARD + glyphs[i:], MISSED_GLYPH_COST, inserted))
    return out


def correct(
    text: str,
    registry: FormatRegistry | None = None,
    countries: Sequence[str] | None = None,
    priors: Mapping[str, float] | None = None,
    max_candidates: int = 5,
    max_cost: float = DEFAULT_MAX_COST,
) -> list[Correction]:
    """Valid plates near ``text``, likeliest first; a reading that is already a valid plate
    comes first at cost 0 and is never replaced.

    ``max_cost`` (nats) bounds the channel and prior cost of a correction. Ties in cost are
    broken by country prior times format weight. Raises ValueError for text with characters
    that no plate or look-alike explains.
    """
    registry = registry or load_registry()
    glyphs = _lenient_glyphs(text)
    formats = registry.formats_for(countries)
    format_nats = _format_priors(formats, priors)
    # Plate priors relative to the likeliest single plate of the allowed formats as long as the
    # candidates can be (the reading's length +-1; for RU one of the few diplomatic plates,
    # standard plates then pay 0.77 nats): only differences rank, and the bound ``max_cost``
    # does not shrink because some country has plates of three glyphs (CH ZH 1).
    lengths = range(len(glyphs) - 1, len(glyphs) + 2)
    priors_by_length = [
        format_nats[id(f)] + nats
        for f in formats
        for length, group in layouts(f).items()
        for _, nats in group
        if length in lengths
    ]
    reference = min(priors_by_length) if priors_by_length else min(
        format_nats[id(f)] + nats for f in formats for group in layouts(f).values() for _, nats in group
    )
    # One entry per plate text and country: the square and the one-row layout of a plate are
    # the same plate to whoever reads the correction.
    best: dict[tuple[str, str], tuple[float, float, str, PlateFormat, tuple[str, ...]]] = {}
    for reading, extra, edits in _readings(glyphs):
        if extra > max_cost:
            continue
        for fmt in formats:
            prior = country_prior(priors, fmt.country) * fmt.weight
            for segments, plate_nats in layouts(fmt).get(len(reading), ()):
                prior_cost = format_nats[id(fmt)] + plate_nats - reference
                budget = max_cost - extra - prior_cost
                if budget < 0:
                    if edits:
                        continue
                    budget = 0.0  # a valid reading of a rare format must still be found
                for cost, latin in _fit(reading, segments, budget):
                    # The reading as read, valid: cost 0 whatever its prior (never "corrected").
                    total = 0.0 if not edits and cost == 0 else cost + extra + prior_cost
                    key = (latin, fmt.country)
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
