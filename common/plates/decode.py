"""From reader output to plates: the format-constrained decoder the edge reader calls.

``decode_plate(logprobs)`` runs the constrained prefix beam search over the automaton of the
allowed countries and returns the most probable *valid* plates, each with its probability,
country, format and region. When no valid plate fits the frames, it returns the unconstrained
best reading with ``valid=False`` so the caller can still log or correct it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from common.plates.alphabet import decode
from common.plates.ctc import (
    DEFAULT_MIN_CHAR_PROB,
    DEFAULT_PRUNE_RATIO,
    _check,
    greedy_decode,
    prefix_beam_search,
)
from common.plates.reading import PlateReading
from common.plates.registry import FormatRegistry, load_registry

# Valid plates the reader gives less probability than this are not offered; see decode_plate.
DEFAULT_MIN_CONFIDENCE = 1e-4


def country_prior(priors: Mapping[str, float] | None, country: str) -> float:
    """Prior weight of a country: from ``priors`` (a device's traffic mix), 1.0 when unnamed."""
    if priors is None:
        return 1.0
    value = priors.get(country, 1.0)
    if value <= 0:
        raise ValueError(f"prior of {country} must be positive, got {value}")
    return float(value)


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
) -> list[PlateReading]:
    """Best valid plates for one (T, C) log-probability matrix, most likely first.

    Ranking: reader probability times the country prior; among formats of one string, the
    format's weight. Valid plates less probable than ``min_confidence`` are not offered (the
    grammar can always force *some* valid plate out of a foreign or garbled one). The list is
    never empty: with no valid plate it holds the raw best reading, ``valid=False``.
    """
    arr = _check(logprobs, 2)
    registry = registry or load_registry()
    automaton = registry.automaton(countries)
    hyps = prefix_beam_search(arr, beam_width, None, automaton, min_char_prob, prune_ratio)
    # Rank (string, format) pairs first; only the ones returned are parsed into candidates.
    ranked: list[tuple[float, float, int, int]] = []
    for h, hyp in enumerate(hyps):
        if hyp.probability < min_confidence:
            continue
        for label in automaton.labels[hyp.state]:
            fmt = automaton.formats[label]
            ranked.append((hyp.logp + math.log(country_prior(priors, fmt.country)), fmt.weight, h, label))
    if not ranked:
        return [_invalid_reading(arr)]
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
    out: list[PlateReading] = []
    for _, _, h, label in ranked[:top_n]:
        hyp, fmt = hyps[h], automaton.formats[label]
        latin = decode(list(hyp.labels))
        parsed = fmt.parse(latin)
        if parsed is None:  # the automaton and the regex are built from the same slots
            raise AssertionError(f"{latin!r} accepted by the automaton but not by {fmt.key}")
        out.append(
            PlateReading(
                text=parsed.canonical,
                latin=latin,
                confidence=min(1.0, hyp.probability),
                country=fmt.country,
                format=fmt.id,
                region=parsed.region_code,
                region_name=parsed.region_name,
                valid=True,
            )
        )
    return out


def _invalid_reading(arr: np.ndarray) -> PlateReading:
    # Best path, not a beam search: most crops that fit no format are not plates at all (the
    # detector's false boxes), their text is only shown, and a beam search here cost 3.5 ms each,
    # more than the reading itself.
    best = greedy_decode(arr)
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
) -> list[list[PlateReading]]:
    """``decode_plate`` for each item of an (N, T, C) batch."""
    arr = _check(logprobs, 3)
    options = (beam_width, top_n, priors, min_char_prob, prune_ratio, min_confidence)
    return [decode_plate(item, registry, countries, *options) for item in arr]
