"""Is this text a plate, of which country and format, and if not, why not."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from common.plates.alphabet import READER_ALPHABET
from common.plates.automaton import PlateAutomaton
from common.plates.decode import format_log_prior
from common.plates.formats import PlateFormat
from common.plates.normalize import normalize_plate
from common.plates.registry import FormatRegistry, load_registry


@dataclass(frozen=True)
class PlateMatch:
    """One reading of a valid plate; ``likelihood`` is its share among the matches (0..1),
    from the country prior times the format weight, divided by the number of plates the format
    holds (``common.plates.decode.format_log_prior``)."""

    country: str
    format: str
    canonical: str
    latin: str
    region_code: str | None
    region_name: str | None
    likelihood: float

    @property
    def format_key(self) -> str:
        return f"{self.country}/{self.format}"


@dataclass(frozen=True)
class ValidationResult:
    text: str
    latin: str | None
    matches: tuple[PlateMatch, ...]
    reason: str | None

    @property
    def valid(self) -> bool:
        return bool(self.matches)

    @property
    def best(self) -> PlateMatch | None:
        return self.matches[0] if self.matches else None


def validate(
    text: str,
    registry: FormatRegistry | None = None,
    countries: Sequence[str] | None = None,
    priors: Mapping[str, float] | None = None,
) -> ValidationResult:
    """Match ``text`` (Cyrillic or Latin, separators allowed) against the formats of
    ``countries`` (all when None); matches are ranked by country prior, format weight and how
    many plates the format holds (a tight format makes each of its plates likelier)."""
    registry = registry or load_registry()
    try:
        latin = normalize_plate(text)
    except ValueError as exc:
        return ValidationResult(text, None, (), str(exc))
    if not latin:
        return ValidationResult(text, latin, (), "the text holds no plate characters")
    formats = registry.formats_for(countries)
    # Plate priors are tiny (a format holds millions of plates): shares are taken relative to a
    # fixed offset so that exp() stays in range; only ratios matter.
    offset = -len(latin) * 4.0
    found: list[tuple[float, PlateFormat, str, str | None, str | None]] = []
    for fmt in formats:
        parsed = fmt.parse(latin)
        if parsed is not None:
            weight = math.exp(format_log_prior(fmt, parsed.parts, priors) - offset)
            found.append((weight, fmt, parsed.canonical, parsed.region_code, parsed.region_name))
    if not found:
        return ValidationResult(text, latin, (), explain_mismatch(latin, formats))
    total = sum(f[0] for f in found)
    found.sort(key=lambda f: f[0], reverse=True)
    matches = tuple(
        PlateMatch(fmt.country, fmt.id, canonical, latin, code, name, weight / total)
        for weight, fmt, canonical, code, name in found
    )
    return ValidationResult(text, latin, matches, None)


@lru_cache(maxsize=1024)
def _format_automaton(fmt: PlateFormat) -> PlateAutomaton:
    return PlateAutomaton.from_formats([fmt])


def explain_mismatch(latin: str, formats: Sequence[PlateFormat]) -> str:
    """Why a glyph string fits none of ``formats``, told against the format it gets furthest in."""
    if not formats:
        return "no formats to check against"
    classes = [READER_ALPHABET.index(ch) + 1 for ch in latin]
    best: tuple[int, float, PlateFormat, bool] | None = None
    for fmt in formats:
        automaton = _format_automaton(fmt)
        state, read = 0, 0
        for c in classes:
            nxt = int(automaton.transitions[state, c])
            if nxt == automaton.dead:
                break
            state, read = nxt, read + 1
        if best is None or (read, fmt.weight) > (best[0], best[1]):
            best = (read, fmt.weight, fmt, bool(automaton.accepting[state]))
    assert best is not None
    read, _, fmt, complete = best
    closest = f"closest format {fmt.key} '{fmt.template}' (e.g. {fmt.example})"
    if read < len(latin) and complete:
        return f"{latin!r} fits no format; {closest}: a complete plate ends before glyph {read + 1}"
    if read < len(latin):
        return f"{latin!r} fits no format; {closest}: glyph {read + 1} '{latin[read]}' cannot stand there"
    return f"{latin!r} fits no format; {closest}: the text ends too early"
