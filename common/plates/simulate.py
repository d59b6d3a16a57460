"""Simulated reader behaviour for testing and benchmarking the grammar without a model.

``synthetic_emissions``: CTC log-probabilities for a known text, peaky like a trained CRNN's
(blank almost everywhere, one or two frames per glyph); when asked, a look-alike glyph
competes with the true one, as it does on real plates.
``single_error``: a plate text with one OCR error of the kinds readers make, and
``correction_rate``: how often the corrector undoes such errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from common.plates.alphabet import BLANK_INDEX, NUM_CLASSES, READER_ALPHABET, encode
from common.plates.confusions import PHANTOM_AT_START, READER_ERROR_SHARES, confusable_glyphs, lookalike_probs
from common.plates.correct import correct
from common.plates.registry import FormatRegistry, load_registry

# Shares of single OCR errors by kind: the reader channel the corrector's costs come from.
ERROR_MIX: dict[str, float] = READER_ERROR_SHARES


def synthetic_emissions(
    text: str,
    rng: np.random.Generator,
    frames: int = 32,
    peak: float = 12.0,
    noise: float = 1.0,
    confusion_rate: float = 0.0,
    confusion_margin: tuple[float, float] = (-1.5, 1.0),
) -> np.ndarray:
    """(frames, NUM_CLASSES) log-softmax scores whose best reading is ``text``.

    With probability ``confusion_rate`` per glyph, a look-alike glyph gets a score
    ``peak + margin`` with margin drawn from ``confusion_margin``: a positive margin makes the
    greedy reading wrong at that glyph.
    """
    labels = encode(text)
    if len(labels) * 2 > frames:
        raise ValueError(f"{len(labels)} glyphs need at least {len(labels) * 2} frames, got {frames}")
    logits = rng.normal(0.0, noise, size=(frames, NUM_CLASSES))
    logits[:, BLANK_INDEX] += peak
    slack = frames - 2 * len(labels)
    # Glyph i starts at frame 2*i + shift_i with non-decreasing shifts, so a blank can always
    # separate neighbours; a glyph spans two frames when that still leaves a blank after it.
    starts = 2 * np.arange(len(labels)) + np.sort(rng.integers(0, slack + 1, size=len(labels)))
    for i, label in enumerate(labels):
        frame = int(starts[i])
        limit = int(starts[i + 1]) - 1 if i + 1 < len(labels) else frames
        width = 2 if frame + 2 <= limit and rng.random() < 0.3 else 1
        for f in range(frame, frame + width):
            logits[f, BLANK_INDEX] -= peak
            logits[f, label] += peak
        if confusion_rate and rng.random() < confusion_rate:
            rivals = confusable_glyphs(READER_ALPHABET[label - 1])
            if rivals:
                rival = READER_ALPHABET.index(rivals[int(rng.integers(0, len(rivals)))]) + 1
                logits[frame : frame + width, rival] += peak + rng.uniform(*confusion_margin)
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def single_error(latin: str, rng: np.random.Generator, kind: str) -> str:
    """``latin`` (glyph form) with one error of ``kind`` (a key of ERROR_MIX)."""
    if kind == "look-alike":
        positions = [i for i, ch in enumerate(latin) if confusable_glyphs(ch)]
        if positions:
            i = positions[int(rng.integers(0, len(positions)))]
            # The look-alike is drawn by how alike it is: 8 is read as B more often than as 3.
            rivals = lookalike_probs(latin[i])
            pick = int(rng.choice(len(rivals), p=np.array(list(rivals.values()))))
            return latin[:i] + list(rivals)[pick] + latin[i + 1 :]
        kind = "other glyph"
    i = int(rng.integers(0, len(latin)))
    if kind == "other glyph":
        others = [g for g in READER_ALPHABET if g != latin[i]]
        return latin[:i] + others[int(rng.integers(0, len(others)))] + latin[i + 1 :]
    if kind == "doubled":
        return latin[: i + 1] + latin[i:]
    if kind == "phantom at an end":
        phantom = READER_ALPHABET[int(rng.integers(0, len(READER_ALPHABET)))]
        return phantom + latin if rng.random() < PHANTOM_AT_START else latin + phantom
    if kind == "missed":
        return latin[:i] + latin[i + 1 :]
    raise ValueError(f"unknown error kind {kind!r}; known: {', '.join(ERROR_MIX)}")


@dataclass
class CorrectionTally:
    """Outcome of ``correction_rate`` per error kind: plates, how many of the misreadings were
    no longer valid (a grammar can only notice those), and how many the corrector undid."""

    total: int = 0
    detectable: int = 0
    fixed: int = 0
    fixed_detectable: int = 0


def correction_rate(
    rng: np.random.Generator,
    plates: int = 1000,
    countries: Sequence[str] | None = None,
    registry: FormatRegistry | None = None,
) -> dict[str, CorrectionTally]:
    """Correct random valid plates, each with one error drawn from ERROR_MIX; a plate counts
    as fixed when the first correction is the original. The corrector is told the countries
    the plates come from, as a device is by its configuration. Returns tallies per error kind
    and under "all"."""
    registry = registry or load_registry()
    kinds = list(ERROR_MIX)
    shares = np.array([ERROR_MIX[k] for k in kinds])
    tallies = {k: CorrectionTally() for k in [*kinds, "all"]}
    for _ in range(plates):
        fmt = registry.sample_format(rng, countries)
        latin = fmt.random_glyphs(rng)
        kind = kinds[int(rng.choice(len(kinds), p=shares))]
        misread = single_error(latin, rng, kind)
        allowed = countries or [fmt.country]
        fixes = correct(misread, registry, countries=allowed, max_candidates=1)
        detectable = not any(f.is_valid(misread) for f in registry.formats_for(allowed))
        fixed = bool(fixes) and fixes[0].latin == latin
        for tally in (tallies[kind], tallies["all"]):
            tally.total += 1
            tally.detectable += detectable
            tally.fixed += fixed
            tally.fixed_detectable += fixed and detectable
    return tallies
