"""Slot templates: the compact language in which a plate format is written.

A template is a whitespace-separated list of display groups; a lone ``|`` starts the next row.
Inside a group, items follow each other without separators:

* ``D`` a digit, ``N`` a digit 1-9, ``A`` any Latin letter, ``X`` a Latin letter or a digit,
  ``L`` one of the country's plate letters, or any one-letter code the country file defines
  under ``slots``; a code may carry a count: ``D{4}`` or ``D{1,4}``;
* ``[ABC]`` an explicit set of glyphs, also with an optional count;
* ``<name>`` one entry of the country's table ``name`` (region codes, series prefixes ...);
* ``'CD'`` literal glyphs.

Everything is held in the reader's glyph form (digits and Latin capitals); whether a letter is
written in Cyrillic in the canonical text is the format's business, not the template's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from common.plates.alphabet import DIGITS, LATIN_LETTERS, READER_ALPHABET

BUILTIN_SLOT_CODES: dict[str, str] = {
    "D": DIGITS,
    "N": DIGITS[1:],
    "A": LATIN_LETTERS,
    "X": LATIN_LETTERS + DIGITS,
}

SlotKind = Literal["chars", "table", "literal"]


class TemplateError(ValueError):
    """A template that cannot be parsed; the message names the offending item."""


@dataclass(frozen=True)
class Slot:
    """One item of a template: a run of glyphs from one set, a table entry, or a literal."""

    kind: SlotKind
    source: str
    row: int
    group: int
    charset: str = ""
    min_len: int = 1
    max_len: int = 1
    choices: tuple[str, ...] = ()
    table: str | None = None

    def allowed_lengths(self) -> tuple[int, ...]:
        if self.kind == "chars":
            return tuple(range(self.min_len, self.max_len + 1))
        return tuple(sorted({len(c) for c in self.choices}))

    def regex(self) -> str:
        if self.kind == "chars":
            if self.min_len == self.max_len:
                count = f"{{{self.min_len}}}"
            else:
                count = f"{{{self.min_len},{self.max_len}}}"
            return f"[{re.escape(self.charset)}]{count}"
        alternatives = sorted(self.choices, key=lambda c: (-len(c), c))
        return "(?:" + "|".join(re.escape(c) for c in alternatives) + ")"


_ITEM = re.compile(
    r"(?P<code>[A-Z])(?:\{(?P<m1>\d+)(?:,(?P<n1>\d+))?\})?"
    r"|\[(?P<set>[^\]]*)\](?:\{(?P<m2>\d+)(?:,(?P<n2>\d+))?\})?"
    r"|<(?P<table>[a-z_][a-z0-9_]*)>"
    r"|'(?P<lit>[^']+)'"
)


def parse_template(
    template: str,
    slot_codes: dict[str, str],
    tables: dict[str, tuple[str, ...]],
) -> tuple[Slot, ...]:
    """Slots of a template. ``slot_codes`` maps extra one-letter codes to glyph sets (already
    in glyph form); ``tables`` maps table names to their entries (glyph form)."""
    codes = {**BUILTIN_SLOT_CODES, **slot_codes}
    slots: list[Slot] = []
    row, group = 0, 0
    tokens = template.split()
    if not tokens:
        raise TemplateError("template is empty")
    for token in tokens:
        if token == "|":
            if not slots or slots[-1].row != row:
                raise TemplateError("'|' must separate two non-empty rows")
            row += 1
            continue
        pos = 0
        while pos < len(token):
            match = _ITEM.match(token, pos)
            if match is None:
                raise TemplateError(f"cannot parse {token[pos:]!r} in group {token!r}")
            pos = match.end()
            slots.append(_slot_of(match, codes, tables, row, group))
        group += 1
    if slots[-1].row != row:
        raise TemplateError("template ends with '|'")
    return tuple(slots)


def _slot_of(
    match: re.Match[str],
    codes: dict[str, str],
    tables: dict[str, tuple[str, ...]],
    row: int,
    group: int,
) -> Slot:
    source = match.group(0)
    if match.group("table"):
        name = match.group("table")
        if name not in tables:
            raise TemplateError(f"{source} names a table the country does not define")
        return Slot("table", source, row, group, choices=tables[name], table=name)
    if match.group("lit"):
        literal = match.group("lit")
        _check_glyphs(literal, source)
        return Slot("literal", source, row, group, choices=(literal,))
    if match.group("code"):
        code = match.group("code")
        if code not in codes:
            raise TemplateError(f"unknown slot code {code!r} in {source!r}")
        charset, m, n = codes[code], match.group("m1"), match.group("n1")
    else:
        charset, m, n = match.group("set"), match.group("m2"), match.group("n2")
        _check_glyphs(charset, source)
        if not charset:
            raise TemplateError(f"empty glyph set in {source!r}")
    min_len = int(m) if m else 1
    max_len = int(n) if n else min_len
    if max_len < 1 or max_len < min_len:
        raise TemplateError(f"bad count in {source!r}: need 0 <= m <= n and n >= 1")
    charset = "".join(sorted(set(charset), key=READER_ALPHABET.index))
    return Slot("chars", source, row, group, charset=charset, min_len=min_len, max_len=max_len)


def _check_glyphs(text: str, source: str) -> None:
    bad = sorted({ch for ch in text if ch not in READER_ALPHABET})
    if bad:
        raise TemplateError(f"{source!r} has glyphs outside the reader alphabet: {''.join(bad)!r}")
