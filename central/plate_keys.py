"""Search keys of a plate: the normalized form and the OCR-homoglyph skeleton, and fuzzy candidates.

`plate_norm` is the glyph form (common.plates.normalize_plate), so Cyrillic А123ВС77 and Latin
A123BC77 are one key. `plate_skeleton` is common.plates.fuzzy_key's folding of the glyphs OCR
confuses (0/O/D/Q, 8/B, ...), so a fuzzy search is "skeleton within one edit": the candidates are
generated here and looked up in an index with IN (...) / = ANY(...), which stays fast on both
SQLite and PostgreSQL without trigram extensions.
"""

from __future__ import annotations

from common.plates.alphabet import READER_ALPHABET, to_latin
from common.plates.confusions import FUZZY_GROUPS, fuzzy_glyph
from common.plates.normalize import SEPARATORS, normalize_plate

MAX_PLATE_KEY = 16

# Glyphs an OCR reader (and a person typing from a photo) swaps fold to one representative:
# the plate grammar's groups (common.plates.confusions.FUZZY_GROUPS), e.g. 0/O/D/Q, 8/B, 1/I.
HOMOGLYPH_GROUPS: tuple[str, ...] = FUZZY_GROUPS
SKELETON_ALPHABET = "".join(ch for ch in READER_ALPHABET if fuzzy_glyph(ch) == ch)


def normalize_plate_key(text: str) -> str:
    """The glyph form (common.plates.normalize_plate): the exact/prefix search key.

    ValueError names characters no plate carries, so a search for them is a clear 422.
    """
    return normalize_plate(text)


def stored_plate_key(text: str) -> str:
    """Key of a plate read by an edge: the glyph form, or for characters outside the reader
    alphabet (a newer reader, a foreign plate) the same folding without refusing them."""
    try:
        return normalize_plate(text)
    except ValueError:
        return "".join(ch for ch in to_latin(text) if ch not in SEPARATORS)


def skeleton(norm: str) -> str:
    """Fold OCR homoglyphs of a normalized key: the fuzzy search key."""
    return "".join(fuzzy_glyph(ch) for ch in norm)


def one_edit_skeletons(norm: str) -> set[str]:
    """Every skeleton within one substitution, insertion or deletion of `norm`'s skeleton."""
    base = skeleton(norm)
    out = {base}
    for i in range(len(base)):
        out.add(base[:i] + base[i + 1 :])
        for ch in SKELETON_ALPHABET:
            out.add(base[:i] + ch + base[i + 1 :])
    if len(base) < MAX_PLATE_KEY:
        for i in range(len(base) + 1):
            for ch in SKELETON_ALPHABET:
                out.add(base[:i] + ch + base[i:])
    out.discard("")
    return out
