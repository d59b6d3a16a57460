"""Letters drawn so that no glyph is rare in a training mix.

Drawing every slot's letters uniformly, a mix of many countries still shows some letters far
less than others: Russian plates (30% of the europe mix) use only twelve letters, and many
Latin formats leave out Q, U, I, O or vowels, so Q ends at 0.37x and U at 0.52x the mean letter
share. A reader learns such letters badly. Here each letter gets a weight 1 / (its share vs the
mean share under uniform drawing), clipped to [1, MAX_WEIGHT], and the letters of a slot are
drawn in proportion to their weights. Every text is still a valid plate of its format (a slot
only ever draws from its own charset); table slots (regions, districts) stay uniform.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

import numpy as np

from common.plates.formats import PlateFormat

LETTERS = string.ascii_uppercase
MAX_WEIGHT = 4.0  # at most four times as often as uniform drawing would pick a letter


def expected_letters(fmt: PlateFormat, weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Expected count of each letter A-Z in one text of `fmt` drawn with `weights` (uniform if None)."""
    counts = np.zeros(len(LETTERS))
    for slot in fmt.slots:
        if slot.kind == "chars":
            mean_len = (slot.min_len + slot.max_len) / 2
            w = np.array([(weights or {}).get(ch, 1.0) for ch in slot.charset])
            for ch, p in zip(slot.charset, w / w.sum(), strict=True):
                if ch in LETTERS:
                    counts[LETTERS.index(ch)] += mean_len * p
        else:
            for choice in slot.choices:
                for ch in choice:
                    if ch in LETTERS:
                        counts[LETTERS.index(ch)] += 1 / len(slot.choices)
    return counts


def letter_shares(
    formats: Sequence[PlateFormat], probs: np.ndarray, weights: Mapping[str, float] | None = None
):
    """Each letter's share of all letters, divided by the mean letter share, under the mix `probs`."""
    counts = np.asarray(probs) @ np.array([expected_letters(f, weights) for f in formats])
    return counts / counts.mean()


def balancing_weights(formats: Sequence[PlateFormat], probs: np.ndarray) -> dict[str, float]:
    """Per-letter drawing weights that lift the letters rare under `probs` toward the mean."""
    shares = letter_shares(formats, probs)
    return {
        ch: float(np.clip(1.0 / share, 1.0, MAX_WEIGHT)) if share > 0 else MAX_WEIGHT
        for ch, share in zip(LETTERS, shares, strict=True)
    }


def random_glyphs(
    fmt: PlateFormat,
    rng: np.random.Generator,
    weights: Mapping[str, float],
    cache: dict[tuple[str, int], np.ndarray] | None = None,
) -> str:
    """A random valid plate of `fmt` in glyph form, each chars slot drawing letters by `weights`.

    `cache` keeps each slot's drawing probabilities between calls with the same weights."""
    out: list[str] = []
    for i, slot in enumerate(fmt.slots):
        if slot.kind == "chars":
            n = int(rng.integers(slot.min_len, slot.max_len + 1))
            p = cache.get((fmt.key, i)) if cache is not None else None
            if p is None:
                w = np.array([weights.get(ch, 1.0) for ch in slot.charset])
                p = w / w.sum()
                if cache is not None:
                    cache[(fmt.key, i)] = p
            idx = rng.choice(len(slot.charset), size=n, p=p)
            out.append("".join(slot.charset[i] for i in idx))
        else:
            out.append(slot.choices[int(rng.integers(0, len(slot.choices)))])
    return "".join(out)
