"""Which glyphs a plate reader mistakes for which, and what such a mistake costs.

``VISUAL_CONFUSIONS`` says how alike two glyphs look (0.2 very, 0.7 somewhat); the numbers are
priors from the shapes of the GOST/DIN plate fonts, not fitted to a confusion matrix; replace
them with measured ones when the reader's own confusion matrix is large enough. From them and
the shares of error kinds, ``READER_ERROR_SHARES``, follow the corrector's costs: -log
probabilities (nats) of one given error under this channel: a likely look-alike (O read for 0)
about 3.3, a random wrong glyph about 7.5.
"""

from __future__ import annotations

import math

import numpy as np

from common.plates.alphabet import READER_ALPHABET

VISUAL_CONFUSIONS: dict[tuple[str, str], float] = {
    ("0", "O"): 0.2,
    ("0", "D"): 0.4,
    ("O", "D"): 0.4,
    ("0", "Q"): 0.5,
    ("O", "Q"): 0.4,
    ("O", "C"): 0.6,
    ("8", "B"): 0.2,
    ("3", "8"): 0.5,
    ("3", "B"): 0.6,
    ("6", "8"): 0.6,
    ("9", "8"): 0.7,
    ("6", "G"): 0.5,
    ("6", "5"): 0.7,
    ("1", "I"): 0.2,
    ("1", "T"): 0.4,
    ("7", "T"): 0.4,
    ("1", "7"): 0.5,
    ("1", "J"): 0.7,
    ("5", "S"): 0.2,
    ("2", "Z"): 0.3,
    ("4", "A"): 0.4,  # the Cyrillic Ч of hand-typed or Cyrillic-OCR text normalises to 4
    ("C", "G"): 0.5,
    ("E", "F"): 0.5,
    ("B", "E"): 0.7,
    ("P", "R"): 0.5,
    ("B", "R"): 0.7,
    ("K", "X"): 0.5,
    ("M", "H"): 0.5,
    ("H", "N"): 0.6,
    ("M", "N"): 0.6,
    ("M", "W"): 0.7,
    ("U", "V"): 0.4,
    ("V", "Y"): 0.5,
    ("T", "Y"): 0.6,
    ("X", "Y"): 0.7,
}

# The reader's error channel: shares of single OCR errors by kind. Look-alikes dominate CRNN
# plate readers' errors; a reader trained on synthetic RU plates
# (shared/notes/ocr-from-synthetic.md) also adds phantom glyphs at the plate's ends (bolts,
# flag) and drops glyphs on tilted plates. ``common.plates.simulate`` draws errors from these
# shares and the corrector's costs are derived from them, so both use one channel model.
READER_ERROR_SHARES: dict[str, float] = {
    "look-alike": 0.5,
    "other glyph": 0.15,
    "phantom at an end": 0.1,
    "doubled": 0.1,
    "missed": 0.15,
}
# Of phantom glyphs, the share read before the plate (the flag and bolts at the right end,
# behind the region block, make the rest).
PHANTOM_AT_START = 0.3
# How sharply look-alike probability falls with the pair cost: P(read r | plate t) is
# proportional to exp(-cost(t, r) / LOOKALIKE_TEMPERATURE) over t's look-alikes, so 8 is read
# as B (0.2) about three times as often as as 3 (0.5).
LOOKALIKE_TEMPERATURE = 0.25


# Glyphs on a typical plate: an error of a kind that can strike any glyph is at one of them.
PLATE_GLYPHS = 8
_GLYPHS = len(READER_ALPHABET)


def _nats(kind: str, choices: float = PLATE_GLYPHS) -> float:
    """-log P(one given error of ``kind``, out of ``choices`` equally likely ones)."""
    return -math.log(READER_ERROR_SHARES[kind] / choices)


# Costs are -log probabilities (nats) of one given error, given that the reading has one; the
# corrector adds the plate prior and ranks by the sum, as a noisy-channel decoder does.
# A look-alike read at one glyph: this, plus -log P(read | plate glyph) (``lookalike_probs``).
LOOKALIKE_COST = _nats("look-alike")
# A random wrong glyph at one glyph: any of the other glyphs.
OTHER_GLYPH_COST = _nats("other glyph", PLATE_GLYPHS * (_GLYPHS - 1))
# A phantom glyph (any glyph) before or after the plate, from bolts, the flag, the frame edge.
PHANTOM_START_COST = _nats("phantom at an end", _GLYPHS / PHANTOM_AT_START)
PHANTOM_END_COST = _nats("phantom at an end", _GLYPHS / (1.0 - PHANTOM_AT_START))
# A glyph invented between two others, which the channel does not expect (readers rarely do it
# without doubling a neighbour): a phantom's cost and one nat more.
SPURIOUS_GLYPH_COST = PHANTOM_START_COST + 1.0
# A CTC reader splits one glyph into two when it finds a blank inside it.
DOUBLED_GLYPH_COST = _nats("doubled")
# A plate glyph not read at all; which glyph it was is the plate prior's business.
MISSED_GLYPH_COST = _nats("missed")

# Glyph groups that a fuzzy search treats as one (the strongest look-alikes).
FUZZY_GROUPS = ("0ODQ", "8B", "1I", "5S", "2Z", "4A", "UV", "6G")


def lookalike_probs(glyph: str) -> dict[str, float]:
    """P(read r | plate glyph) over the glyph's look-alikes, given that a look-alike error
    happens there; empty for a glyph without look-alikes."""
    weights = {r: math.exp(-c / LOOKALIKE_TEMPERATURE) for r, c in _PAIR_COSTS.get(glyph, {}).items()}
    total = sum(weights.values())
    return {r: w / total for r, w in weights.items()}


def _matrix() -> np.ndarray:
    n = len(READER_ALPHABET)
    cost = np.full((n, n), OTHER_GLYPH_COST)
    np.fill_diagonal(cost, 0.0)
    for actual in READER_ALPHABET:
        for read, p in lookalike_probs(actual).items():
            # A look-alike could also be a random wrong glyph; the cheaper reading wins.
            cost[_INDEX[read], _INDEX[actual]] = min(LOOKALIKE_COST - math.log(p), OTHER_GLYPH_COST)
    cost.setflags(write=False)
    return cost


_INDEX = {g: i for i, g in enumerate(READER_ALPHABET)}
_PAIR_COSTS: dict[str, dict[str, float]] = {}
for (_a, _b), _c in VISUAL_CONFUSIONS.items():
    _PAIR_COSTS.setdefault(_a, {})[_b] = _c
    _PAIR_COSTS.setdefault(_b, {})[_a] = _c
# SUBSTITUTION_COST[i, j]: cost (nats) of reading READER_ALPHABET[i] where READER_ALPHABET[j]
# is. Not symmetric: 3 read as B costs more than 8 read as B, since 3 has likelier look-alikes.
SUBSTITUTION_COST = _matrix()
_PARTNERS: dict[str, list[str]] = {
    g: sorted(partners, key=lambda r: (partners[r], r)) for g, partners in _PAIR_COSTS.items()
}
_FUZZY = {g: group[0] for group in FUZZY_GROUPS for g in group}


def substitution_cost(read: str, actual: str) -> float:
    """Cost of reading glyph ``read`` where the plate has ``actual`` (both glyph form)."""
    return float(SUBSTITUTION_COST[_INDEX[read], _INDEX[actual]])


def confusable_glyphs(glyph: str) -> list[str]:
    """Look-alikes of a glyph, most confusable first."""
    return list(_PARTNERS.get(glyph, ()))


def fuzzy_glyph(glyph: str) -> str:
    """Representative of the glyph's look-alike group (the glyph itself when it has none)."""
    return _FUZZY.get(glyph, glyph)
