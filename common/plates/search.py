"""Search keys for plates: exact (glyph form) and fuzzy (look-alike aware).

Edge and central index plates by ``normalize_plate`` (so "А123ВС77", "a 123 bc 77" and
"A123BC77" are one plate) and may add ``fuzzy_key`` to find readings that confused look-alike
glyphs. ``search_variants`` expands a query into the readings an OCR would likely have stored
for it, for stores that can only match exact keys (a blind index, say).
"""

from __future__ import annotations

import itertools

from common.plates.confusions import confusable_glyphs, fuzzy_glyph
from common.plates.normalize import normalize_plate


def same_plate(a: str, b: str) -> bool:
    """Whether two spellings (Cyrillic/Latin, any separators) are the same plate."""
    return normalize_plate(a) == normalize_plate(b)


def fuzzy_key(text: str) -> str:
    """Glyph form with every look-alike group collapsed to one glyph (O, D, Q -> 0; B -> 8 ...)."""
    return "".join(fuzzy_glyph(ch) for ch in normalize_plate(text))


def search_variants(text: str, max_substitutions: int = 1, max_variants: int = 500) -> list[str]:
    """The plate in glyph form and the readings an OCR is likely to have made of it: up to
    ``max_substitutions`` look-alike substitutions, and each doubled glyph read once (a CTC
    reader that missed the blank between them). The exact form comes first."""
    if max_substitutions < 0:
        raise ValueError("max_substitutions must be >= 0")
    glyphs = normalize_plate(text)
    variants: dict[str, None] = {glyphs: None}
    positions = [(i, confusable_glyphs(ch)) for i, ch in enumerate(glyphs)]
    positions = [(i, alts) for i, alts in positions if alts]
    for n in range(1, max_substitutions + 1):
        for chosen in itertools.combinations(positions, n):
            for replacement in itertools.product(*(alts for _, alts in chosen)):
                chars = list(glyphs)
                for (i, _), ch in zip(chosen, replacement, strict=True):
                    chars[i] = ch
                variants["".join(chars)] = None
                if len(variants) >= max_variants:
                    return list(variants)
    for i in range(1, len(glyphs)):
        if glyphs[i] == glyphs[i - 1]:
            variants[glyphs[:i] + glyphs[i + 1 :]] = None
    return list(variants)[:max_variants]
