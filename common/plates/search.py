"""Search keys of a plate: the glyph form, the look-alike aware fuzzy key, and fuzzy candidates.

Edge and central index plates by their glyph form (``common.plates.normalize_plate``), so
Cyrillic "А123ВС77", "a 123 bc 77" and Latin "A123BC77" are one plate: a query is keyed by
``normalize_plate`` itself (it names characters no plate carries), a stored reading by
``stored_plate_key`` (the same folding, keeping characters outside the reader alphabet).

``fuzzy_key`` folds the glyphs OCR confuses (0/O/D/Q, 8/B, ...: the plate grammar's
``common.plates.confusions.FUZZY_GROUPS``) to one representative, so a fuzzy search is "fuzzy key
within one edit" (Damerau: substitution, insertion, deletion or a swap of two neighbours, as in
A132BC77 typed for A123BC77): ``one_edit_fuzzy_keys`` generates the candidates, which an index looks up with
IN (...) / = ANY(...), fast on SQLite and PostgreSQL alike without trigram extensions.
"""

from __future__ import annotations

from common.plates.alphabet import READER_ALPHABET, to_latin
from common.plates.confusions import fuzzy_glyph
from common.plates.normalize import SEPARATORS, normalize_plate

# Longest key a fuzzy candidate grows to: a plate's text is at most 16 glyphs (common.events).
_MAX_KEY = 16
# The representatives fuzzy keys are spelled with: one glyph per look-alike group.
_FUZZY_ALPHABET = "".join(ch for ch in READER_ALPHABET if fuzzy_glyph(ch) == ch)


def stored_plate_key(text: str) -> str:
    """Key of a plate read by an edge: the glyph form, or for characters outside the reader
    alphabet (a newer reader, a foreign plate) the same folding without refusing them."""
    try:
        return normalize_plate(text)
    except ValueError:
        return "".join(ch for ch in to_latin(text) if ch not in SEPARATORS)


def fuzzy_key(text: str) -> str:
    """Glyph form with every look-alike group collapsed to one glyph (O, D, Q -> 0; B -> 8 ...).

    Takes plate text or a key (a key is its own glyph form); the stored fuzzy index column.
    """
    return "".join(fuzzy_glyph(ch) for ch in stored_plate_key(text))


def one_edit_fuzzy_keys(text: str) -> set[str]:
    """Every fuzzy key within one substitution, insertion, deletion or adjacent transposition
    (Damerau edit) of ``text``'s fuzzy key."""
    base = fuzzy_key(text)
    out = {base}
    for i in range(len(base)):
        out.add(base[:i] + base[i + 1 :])
        if i + 1 < len(base):
            out.add(base[:i] + base[i + 1] + base[i] + base[i + 2 :])
        for ch in _FUZZY_ALPHABET:
            out.add(base[:i] + ch + base[i + 1 :])
    if len(base) < _MAX_KEY:
        for i in range(len(base) + 1):
            for ch in _FUZZY_ALPHABET:
                out.add(base[:i] + ch + base[i:])
    out.discard("")
    return out
