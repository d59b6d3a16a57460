"""From reader output to plates: the format-constrained decoder the edge reader calls.

``decode_plate(logprobs)`` runs the constrained prefix beam search over the automaton of the
allowed countries and returns the most probable *valid* plates, each with its probability,
country, format and region. When no valid plate fits the frames, it returns the unconstrained
best reading with ``valid=False`` so the caller can still log or correct it. Its two halves,
``search_plates`` and ``rank_plates``, let a caller rank one search under several priors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from common.plates.alphabet import decode
from common.plates.automaton import PlateAutomaton
from common.plates.ctc import (
    DEFAULT_MIN_CHAR_PROB,
    DEFAULT_PRUNE_RATIO,
    Hypothesis,
    _check,
    greedy_decode,
    prefix_beam_search,
)
from common.plates.formats import PlateFormat, PlateParse
from common.plates.reading import PlateReading
from common.plates.registry import FormatRegistry, load_registry

# Valid plates the reader gives less probability than this are not offered; see decode_plate.
DEFAULT_MIN_CONFIDENCE = 1e-4
# How much the format prior counts against the reader's probability (1: plain Bayes). See
# decode_plate; 0 ranks by the reader alone, the prior then only orders the formats of one string.
DEFAULT_FORMAT_PRIOR_STRENGTH = 1.0


def country_prior(priors: Mapping[str, float] | None, country: str) -> float:
    """Prior weight of a country: from ``priors`` (a device's traffic mix), 1.0 when unnamed."""
    if priors is None:
        return 1.0
    value = priors.get(country, 1.0)
    if value <= 0:
        raise ValueError(f"prior of {country} must be positive, got {value}")
    return float(value)


def format_log_prior(
    fmt: PlateFormat, parts: tuple[str, ...], priors: Mapping[str, float] | None = None
) -> float:
    """log P(plate, format) up to a constant: the country's traffic prior (its file's
    ``traffic``, times the device's ``priors`` for it), the format's share of the country's
    weight, and the share of the format's plates this one is (``PlateFormat.plate_nats``)."""
    country = country_prior(priors, fmt.country) * fmt.traffic
    return math.log(country * fmt.country_share) - fmt.plate_nats(parts)


@dataclass(frozen=True)
class PlateSearch:
    """What the constrained beam search found in one (T, C) matrix: the complete plates at
    ``min_confidence`` or more, before any prior ranks them. Priors only rank what the search
    found, so one search serves every prior a caller tries (a band read on the crop, a country
    favoured for the hyphens it shows), and a search that found nothing needs no prior at all."""

    logprobs: np.ndarray  # the checked (T, C) log-probabilities
    automaton: PlateAutomaton | None  # None: no search was run (no format can be read there)
    hypotheses: tuple[Hypothesis, ...]

    @classmethod
    def not_run(cls, logprobs: np.ndarray) -> PlateSearch:
        """A search not run at all: it ranks as the unconstrained best reading, not valid."""
        return cls(_check(logprobs, 2), None, ())

    @property
    def found(self) -> bool:
        return bool(self.hypotheses)


def search_plates(
    logprobs: np.ndarray,
    registry: FormatRegistry | None = None,
    countries: Sequence[str] | None = None,
    beam_width: int = 10,
    min_char_prob: float = DEFAULT_MIN_CHAR_PROB,
    prune_ratio: float = DEFAULT_PRUNE_RATIO,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    rows: int | None = None,
    give_up_below: float = 0.0,
) -> PlateSearch:
    """The beam search half of ``decode_plate`` (see there for the arguments)."""
    arr = _check(logprobs, 2)
    registry = registry or load_registry()
    automaton = registry.automaton(countries, rows)
    give_up = min(1.0, max(min_confidence, give_up_below))
    hyps = prefix_beam_search(arr, beam_width, None, automaton, min_char_prob, prune_ratio, give_up)
    return PlateSearch(arr, automaton, tuple(h for h in hyps if h.probability >= min_confidence))


def rank_plates(
    search: PlateSearch,
    priors: Mapping[str, float] | None = None,
    top_n: int = 5,
    format_prior_strength: float = DEFAULT_FORMAT_PRIOR_STRENGTH,
) -> list[PlateReading]:
    """The ranking half of ``decode_plate``: the search's plates, most likely first under
    ``priors``; the unconstrained best reading, not valid, when it found none."""
    if format_prior_strength < 0:
        raise ValueError("format_prior_strength must be >= 0")
    automaton, hyps = search.automaton, search.hypotheses
    ranked: list[tuple[float, float, int, PlateFormat, PlateParse]] = []
    for h, hyp in enumerate(hyps if automaton is not None else ()):
        latin = decode(list(hyp.labels))
        for label in automaton.labels[hyp.state]:
            fmt = automaton.formats[label]
            parsed = fmt.parse(latin)
            if parsed is None:  # the automaton and the regex are built from the same slots
                raise AssertionError(f"{latin!r} accepted by the automaton but not by {fmt.key}")
            prior = format_log_prior(fmt, parsed.parts, priors)
            ranked.append((hyp.logp + format_prior_strength * prior, prior, h, fmt, parsed))
    if not ranked:
        return [best_path_reading(search.logprobs)]
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return [
        PlateReading(
            text=parsed.canonical,
            latin=parsed.latin,
            confidence=min(1.0, hyps[h].probability),
            country=fmt.country,
            format=fmt.id,
            region=parsed.region_code,
            region_name=parsed.region_name,
            valid=True,
        )
        for _, _, h, fmt, parsed in ranked[:top_n]
    ]


def decode_plate(
    logprobs: np.ndarray,
    registry: FormatRegistry | None = None,
    countries: Sequence[str] | None = None,
    beam_width: int = 10,
    top_n: int = 5,
    priors: Mapping[str, float] | None = None,
    min_char_prob: float = DEFAULT_MIN_CHAR_PROB,
    prune_ratio: float = DEFAULT_PRUNE_RATIO,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    format_prior_strength: float = DEFAULT_FORMAT_PRIOR_STRENGTH,
    rows: int | None = None,
    give_up_below: float = 0.0,
) -> list[PlateReading]:
    """Best valid plates for one (T, C) log-probability matrix, most likely first.

    Ranking: reader log-probability plus ``format_prior_strength`` times the plate's log prior
    (``format_log_prior``: country traffic x device prior x the format's share of its country,
    divided by how many plates the format holds). A string that fits several countries goes to
    the one that makes it likelier (RO B01XEN is one of 42 counties x 100 numbers, not one of
    Austria's looser district-number-letters plates; BA123AB is an Italian plate before a Slovak
    one, Italy having 16 times the cars, unless ``priors`` say otherwise), and a misreading that
    only a looser format accepts (an SK plate whose coat of arms is read as a glyph, accepted as
    PL) must be that much likelier to the reader to beat the plate read right. Valid plates less
    probable than ``min_confidence`` are not offered (the grammar can always force *some* valid
    plate out of a foreign or garbled one). The list is never empty: with no valid plate it
    holds the raw best reading, ``valid=False``. ``rows``: only formats printed in that many
    rows (the view the log-probabilities come from; see ``FormatRegistry.automaton``).
    ``give_up_below``: when no valid plate can be that probable, the list holds only the raw
    reading (a caller that already holds a reading this sure has no use for a weaker one).
    """
    search = search_plates(
        logprobs, registry, countries, beam_width, min_char_prob, prune_ratio, min_confidence, rows,
        give_up_below,
    )
    return rank_plates(search, priors, top_n, format_prior_strength)


def best_path_reading(logprobs: np.ndarray) -> PlateReading:
    """The best path's string, not valid: what a crop that fits no format reads as."""
    # Best path, not a beam search: most crops that fit no format are not plates at all (the
    # detector's false boxes), their text is only shown, and a beam search here cost 3.5 ms each,
    # more than the reading itself.
    best = greedy_decode(logprobs)
    latin = decode(list(best.labels))
    return PlateReading(latin, latin, min(1.0, best.probability))


def decode_plate_batch(
    logprobs: np.ndarray,
    registry: FormatRegistry | None = None,
    countries: Sequence[str] | None = None,
    beam_width: int = 10,
    top_n: int = 5,
    priors: Mapping[str, float] | None = None,
    min_char_prob: float = DEFAULT_MIN_CHAR_PROB,
    prune_ratio: float = DEFAULT_PRUNE_RATIO,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    format_prior_strength: float = DEFAULT_FORMAT_PRIOR_STRENGTH,
) -> list[list[PlateReading]]:
    """``decode_plate`` for each item of an (N, T, C) batch."""
    arr = _check(logprobs, 3)
    options = (beam_width, top_n, priors, min_char_prob, prune_ratio, min_confidence, format_prior_strength)
    return [decode_plate(item, registry, countries, *options) for item in arr]
