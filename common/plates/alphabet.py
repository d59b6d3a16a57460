"""The reader's output alphabet and the mapping between plate glyphs and characters.

The reader sees glyphs, not languages: Cyrillic А and Latin A print the same on a plate, so
the model has one class per *visual* glyph (digits and Latin capitals). The plate grammar
decides, per country, whether a glyph is written in Cyrillic or Latin in the canonical text.
"""

from __future__ import annotations

DIGITS = "0123456789"
LATIN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Class 0 is the CTC blank; class i (i >= 1) is READER_ALPHABET[i - 1].
READER_ALPHABET = DIGITS + LATIN_LETTERS
BLANK_INDEX = 0
NUM_CLASSES = len(READER_ALPHABET) + 1

# The twelve Cyrillic plate letters of GOST R 50577 and their Latin look-alikes.
CYRILLIC_PLATE_LETTERS = "АВЕКМНОРСТУХ"
LATIN_LOOKALIKES = "ABEKMHOPCTYX"
# Ukrainian and Belarusian plates also use І (Cyrillic-Ukrainian I).
EXTRA_CYRILLIC = "І"
EXTRA_LATIN = "I"

CYRILLIC_TO_LATIN = dict(
    zip(CYRILLIC_PLATE_LETTERS + EXTRA_CYRILLIC, LATIN_LOOKALIKES + EXTRA_LATIN, strict=True)
)
LATIN_TO_CYRILLIC = {v: k for k, v in CYRILLIC_TO_LATIN.items()}


def to_latin(text: str) -> str:
    """Latin transliteration by glyph: what a gate controller that only knows ASCII expects."""
    return "".join(CYRILLIC_TO_LATIN.get(ch, ch) for ch in text.upper())


def to_cyrillic(text: str) -> str:
    """Cyrillic spelling of a glyph string; characters without a Cyrillic twin are kept."""
    return "".join(LATIN_TO_CYRILLIC.get(ch, ch) for ch in text.upper())


def encode(text: str) -> list[int]:
    """Class indices of a plate string (Cyrillic or Latin) for CTC training."""
    latin = to_latin(text)
    try:
        return [READER_ALPHABET.index(ch) + 1 for ch in latin]
    except ValueError as exc:
        raise ValueError(f"plate text {text!r} has a character outside the reader alphabet") from exc


def decode(indices: list[int]) -> str:
    """Glyph string (Latin) of class indices; blanks are skipped."""
    return "".join(READER_ALPHABET[i - 1] for i in indices if i != BLANK_INDEX)
