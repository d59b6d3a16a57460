"""Plate formats and countries as loaded from the registry's YAML files."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from common.plates.alphabet import LATIN_TO_CYRILLIC, to_cyrillic
from common.plates.normalize import normalize_plate
from common.plates.template import Slot

Script = Literal["cyrillic", "latin"]


ColorName = Literal["white", "black", "yellow", "blue", "red", "green"]

# How light each colour looks in a camera's grey image, 0 (black) to 1 (white): enough to say
# whether a plate's glyphs are lighter than its ground.
COLOR_LIGHTNESS: Mapping[str, float] = {
    "white": 1.0,
    "yellow": 0.85,
    "green": 0.45,
    "red": 0.4,
    "blue": 0.3,
    "black": 0.0,
}


@dataclass(frozen=True)
class Colors:
    """Plate background and glyph colour, as words (white, black, yellow, blue, red, green)."""

    background: str
    text: str

    @property
    def light_text(self) -> bool:
        """Glyphs lighter than the ground (military, police, diplomatic plates)."""
        return COLOR_LIGHTNESS[self.text] > COLOR_LIGHTNESS[self.background]


@dataclass(frozen=True)
class PlateParse:
    """A plate matched against one format: the glyphs each slot took."""

    parts: tuple[str, ...]
    latin: str
    canonical: str
    region_code: str | None
    region_name: str | None


@dataclass(frozen=True, eq=False)
class PlateFormat:
    """One plate format of one country.

    Text in and out: methods accept any spelling (Cyrillic or Latin, with separators); ``latin``
    is the glyph form, ``canonical`` the form stored in the database (Cyrillic letters for
    Cyrillic-script formats).
    """

    country: str
    id: str
    description: str
    example: str
    template: str
    slots: tuple[Slot, ...]
    plate_type: str
    colors: Colors
    script: Script
    weight: float
    decorations: tuple[str, ...] = ()
    # P(format | country): the weight's share among the country's formats; and the country's
    # traffic prior (registered cars, millions), for ranking with every country on.
    country_share: float = 1.0
    traffic: float = 1.0
    region_table: str | None = None
    region_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.country}/{self.id}"

    @property
    def rows(self) -> int:
        return self.slots[-1].row + 1

    @cached_property
    def regex(self) -> str:
        """Regular expression over the glyph form; slot i is group ``s{i}``."""
        return "".join(f"(?P<s{i}>{slot.regex()})" for i, slot in enumerate(self.slots))

    @cached_property
    def _compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    @property
    def min_length(self) -> int:
        return sum(min(s.allowed_lengths()) for s in self.slots)

    @property
    def max_length(self) -> int:
        return sum(max(s.allowed_lengths()) for s in self.slots)

    @cached_property
    def _region_slot(self) -> int | None:
        if self.region_table is None:
            return None
        for i, slot in enumerate(self.slots):
            if slot.kind == "table" and slot.table == self.region_table:
                return i
        return None

    def to_canonical(self, glyphs: str) -> str:
        """Canonical spelling of a glyph-form text in this format's script."""
        return to_cyrillic(glyphs) if self.script == "cyrillic" else glyphs

    def parse(self, text: str) -> PlateParse | None:
        """The slot parts of ``text`` if it is a plate of this format, else None."""
        try:
            glyphs = normalize_plate(text)
        except ValueError:
            return None
        match = self._compiled.fullmatch(glyphs)
        if match is None:
            return None
        parts = tuple(match.group(f"s{i}") for i in range(len(self.slots)))
        region_code = region_name = None
        if self._region_slot is not None:
            region_code = self.to_canonical(parts[self._region_slot])
            region_name = self.region_names.get(parts[self._region_slot])
        return PlateParse(parts, glyphs, self.to_canonical(glyphs), region_code, region_name)

    def plate_nats(self, parts: tuple[str, ...]) -> float:
        """-log P(this plate | format) for a plate drawn slot by slot: a length uniformly among
        the slot's lengths, then each glyph uniformly from its set, or a table entry uniformly
        from the table. A format that holds more plates gives each of them less probability."""
        nats = 0.0
        for slot, part in zip(self.slots, parts, strict=True):
            if slot.kind == "chars":
                nats += math.log(slot.max_len - slot.min_len + 1) + len(part) * math.log(len(slot.charset))
            else:
                nats += math.log(len(slot.choices))
        return nats

    def is_valid(self, text: str) -> bool:
        return self.parse(text) is not None

    def reads_glyphs(self, glyphs: str) -> bool:
        """``is_valid`` for a string already in glyph form (``PlateReading.latin``), without the
        normalising that any spelling needs: for checks run on every reading of every crop."""
        return self._compiled.fullmatch(glyphs) is not None

    def layout(self, text: str) -> list[list[str]]:
        """Canonical display groups per row, e.g. [["А", "123", "ВС", "77"]] for RU standard."""
        parsed = self.parse(text)
        if parsed is None:
            raise ValueError(f"{text!r} is not a {self.key} plate")
        rows: list[list[str]] = [[] for _ in range(self.rows)]
        last_group = -1
        for slot, part in zip(self.slots, parsed.parts, strict=True):
            if slot.group != last_group:
                rows[slot.row].append("")
                last_group = slot.group
            rows[slot.row][-1] += self.to_canonical(part)
        return rows

    def random_glyphs(self, rng: np.random.Generator) -> str:
        """A random valid plate of this format in glyph (Latin) form."""
        out: list[str] = []
        for slot in self.slots:
            if slot.kind == "chars":
                n = int(rng.integers(slot.min_len, slot.max_len + 1))
                idx = rng.integers(0, len(slot.charset), size=n)
                out.append("".join(slot.charset[i] for i in idx))
            else:
                out.append(slot.choices[int(rng.integers(0, len(slot.choices)))])
        return "".join(out)

    def random_text(self, rng: np.random.Generator) -> str:
        """A random valid plate of this format in canonical form (real region codes only)."""
        return self.to_canonical(self.random_glyphs(rng))


@dataclass(frozen=True)
class Country:
    """A country's formats and tables, as read from one YAML file."""

    code: str
    name: str
    script: Script
    letters: str
    formats: tuple[PlateFormat, ...]
    tables: Mapping[str, tuple[str, ...]]
    region_table: str | None
    region_names: Mapping[str, str]
    source: Path
    # The distinguishing sign printed on the plate's EU band (D, PL, F, SK ...), for a band reader.
    band_code: str | None = None
    # Registered cars (millions): the country's prior when every country is allowed.
    traffic: float = 1.0


def check_script(script: Script, slots: tuple[Slot, ...]) -> str | None:
    """Why a Cyrillic-script format cannot spell its letters in Cyrillic, or None if it can."""
    if script != "cyrillic":
        return None
    letters: set[str] = set()
    for slot in slots:
        glyphs = slot.charset if slot.kind == "chars" else "".join(slot.choices)
        letters.update(ch for ch in glyphs if ch.isalpha())
    missing = sorted(letters - set(LATIN_TO_CYRILLIC))
    if missing:
        return f"letters {''.join(missing)!r} have no Cyrillic twin; give this format script: latin"
    return None
