"""Normal forms of plate text used for matching, search and blind indexes.

Every component that compares plates (validator, edge search, central search, the blind index)
works on the *glyph form*: upper case, no separators, Cyrillic plate letters replaced by their
Latin look-alikes. Two spellings of one plate (Cyrillic "А123ВС77" and Latin "A123BC77") have the
same glyph form, so search treats them as the same plate.
"""

from __future__ import annotations

from common.plates.alphabet import CYRILLIC_TO_LATIN, READER_ALPHABET

# People type plates with spaces, dashes, dots, slashes; plates print some of them too.
SEPARATORS = frozenset(" \t-–—._/|·:")
_READER_GLYPHS = frozenset(READER_ALPHABET)


def normalize_plate(text: str) -> str:
    """Glyph form of a plate: upper case, separators removed, Cyrillic letters as Latin glyphs.

    Raises ValueError naming the characters that no plate can contain.
    """
    out: list[str] = []
    bad: list[str] = []
    for ch in text.upper():
        if ch in SEPARATORS:
            continue
        glyph = CYRILLIC_TO_LATIN.get(ch, ch)
        if glyph in _READER_GLYPHS:
            out.append(glyph)
        else:
            bad.append(ch)
    if bad:
        odd = "".join(sorted(set(bad)))
        raise ValueError(f"plate text {text!r} has characters no plate carries: {odd!r}")
    return "".join(out)
