"""Which glyphs a plate reader mistakes for which, and what such a mistake costs.

Costs are in "errors": 1.0 is an arbitrary substitution, a visual look-alike costs less, so the
corrector prefers turning a misplaced O into 0 over inventing a glyph. The numbers are priors
from the shapes of the GOST/DIN plate fonts, not fitted to a confusion matrix; replace them
with measured ones when the reader's own confusion matrix is available.
"""

from __future__ import annotations

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

# A glyph read that is not on the plate, and a plate glyph not read at all.
SPURIOUS_GLYPH_COST = 1.0
MISSED_GLYPH_COST = 1.0
# Phantom glyphs come mostly from the plate's ends (bolts, the flag, the frame edge) ...
EDGE_GLYPH_COST = 0.6
# ... and CTC readers split one glyph into two, or merge two equal ones, when a blank is
# found or missed between them.
DOUBLED_GLYPH_COST = 0.3

# Glyph groups that a fuzzy search treats as one (the strongest look-alikes).
FUZZY_GROUPS = ("0ODQ", "8B", "1I", "5S", "2Z", "4A", "UV", "6G")


def _matrix() -> np.ndarray:
    n = len(READER_ALPHABET)
    cost = np.ones((n, n))
    np.fill_diagonal(cost, 0.0)
    for (a, b), c in VISUAL_CONFUSIONS.items():
        i, j = READER_ALPHABET.index(a), READER_ALPHABET.index(b)
        cost[i, j] = cost[j, i] = c
    cost.setflags(write=False)
    return cost


# SUBSTITUTION_COST[i, j]: cost of reading glyph READER_ALPHABET[i] where READER_ALPHABET[j] is.
SUBSTITUTION_COST = _matrix()
_INDEX = {g: i for i, g in enumerate(READER_ALPHABET)}
_PARTNERS: dict[str, list[str]] = {}
for (_a, _b), _c in sorted(VISUAL_CONFUSIONS.items(), key=lambda kv: kv[1]):
    _PARTNERS.setdefault(_a, []).append(_b)
    _PARTNERS.setdefault(_b, []).append(_a)
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
