"""The format registry: one YAML file per country, loaded and checked at start-up.

``load_registry()`` returns the bundled registry (cached); ``load_registry(extra_dir, ...)`` adds
the countries of further directories, where a country defined again replaces the bundled one.
A broken file raises ``PlateFormatError`` naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from common.plates.alphabet import LATIN_LETTERS
from common.plates.formats import ColorName, Colors, Country, PlateFormat, Script, check_script
from common.plates.normalize import normalize_plate
from common.plates.template import TemplateError, parse_template

if TYPE_CHECKING:
    from common.plates.automaton import PlateAutomaton

COUNTRIES_DIR = Path(__file__).resolve().parent / "countries"

# libyaml's safe loader when PyYAML has it (its wheels do): the 49 country files parse in 0.03 s
# instead of 0.25 s, a tenth of what every `anpr-edge` process spends loading the registry.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PlateFormatError(ValueError):
    """A country file that cannot be loaded; the message names the file and the field."""


class _ColorsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    background: ColorName
    text: ColorName


class _FormatSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: StrictStr
    template: StrictStr
    example: StrictStr
    counterexample: StrictStr
    plate_type: StrictStr
    colors: _ColorsSpec
    weight: float = Field(gt=0)
    script: Literal["cyrillic", "latin"] | None = None
    decorations: list[StrictStr] = []


class _CountrySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: StrictStr
    script: Literal["cyrillic", "latin"]
    band_code: str | None = Field(default=None, pattern=r"^[A-Z]{1,3}$")
    traffic: float = Field(default=1.0, gt=0)
    letters: StrictStr = LATIN_LETTERS
    slots: dict[str, StrictStr] = {}
    tables: dict[StrictStr, dict[StrictStr, StrictStr] | list[StrictStr]] = {}
    # The table(s) naming regions; a format takes the first of them it uses (PL: two-letter and
    # three-letter district codes are two tables, since their serials differ).
    region_table: StrictStr | list[StrictStr] | None = None
    formats: list[_FormatSpec] = Field(min_length=1)


def load_country_file(path: Path) -> Country:
    """Read and check one country file."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise PlateFormatError(f"{path}: cannot read YAML: {exc}") from exc
    try:
        spec = _CountrySpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<top>'}: {err['msg']}" for err in exc.errors()
        )
        raise PlateFormatError(f"{path}: {problems}") from exc
    return _build_country(spec, path)


def _glyphs(text: str, where: str, path: Path) -> str:
    try:
        return normalize_plate(text)
    except ValueError as exc:
        raise PlateFormatError(f"{path}: {where}: {exc}") from exc


def _build_country(spec: _CountrySpec, path: Path) -> Country:
    letters = _glyphs(spec.letters, "letters", path)
    if not letters.isalpha():
        raise PlateFormatError(f"{path}: letters: must hold letters only, got {spec.letters!r}")
    slot_codes = {"L": letters}
    for code, glyphs in spec.slots.items():
        if len(code) != 1 or not code.isupper():
            raise PlateFormatError(f"{path}: slots.{code}: a slot code is one capital letter")
        slot_codes[code] = _glyphs(glyphs, f"slots.{code}", path)
    tables: dict[str, tuple[str, ...]] = {}
    names: dict[str, dict[str, str]] = {}
    for table, entries in spec.tables.items():
        keys = list(entries)
        if not keys:
            raise PlateFormatError(f"{path}: tables.{table}: table is empty")
        glyph_keys = [_glyphs(k, f"tables.{table}.{k}", path) for k in keys]
        if not all(glyph_keys):
            raise PlateFormatError(f"{path}: tables.{table}: an entry has no glyphs")
        if len(set(glyph_keys)) != len(glyph_keys):
            raise PlateFormatError(f"{path}: tables.{table}: two entries have the same glyphs")
        tables[table] = tuple(glyph_keys)
        if isinstance(entries, dict):
            names[table] = {g: entries[k] for g, k in zip(glyph_keys, keys, strict=True)}
    given = spec.region_table
    region_tables = [given] if isinstance(given, str) else list(given or [])
    if not region_tables and "region" in tables:
        region_tables = ["region"]
    for table in region_tables:
        if table not in tables:
            raise PlateFormatError(f"{path}: region_table: no table named {table!r}")
    region_names = {code: name for table in region_tables for code, name in names.get(table, {}).items()}

    formats: list[PlateFormat] = []
    seen: set[str] = set()
    for i, fmt in enumerate(spec.formats):
        where = f"formats.{i} ({fmt.id})"
        if fmt.id in seen:
            raise PlateFormatError(f"{path}: {where}.id: format id used twice")
        seen.add(fmt.id)
        try:
            slots = parse_template(fmt.template, slot_codes, tables)
        except TemplateError as exc:
            raise PlateFormatError(f"{path}: {where}.template: {exc}") from exc
        used_table = next((t for t in region_tables if any(s.table == t for s in slots)), None)
        script: Script = fmt.script or spec.script
        problem = check_script(script, slots)
        if problem:
            raise PlateFormatError(f"{path}: {where}.script: {problem}")
        plate = PlateFormat(
            country=spec.country,
            id=fmt.id,
            description=fmt.description,
            example=fmt.example,
            template=fmt.template,
            slots=slots,
            plate_type=fmt.plate_type,
            colors=Colors(fmt.colors.background, fmt.colors.text),
            script=script,
            weight=fmt.weight,
            decorations=tuple(fmt.decorations),
            region_table=used_table,
            region_names=names.get(used_table, {}) if used_table else {},
        )
        if not plate.is_valid(fmt.example):
            raise PlateFormatError(
                f"{path}: {where}.example: {fmt.example!r} does not fit template {fmt.template!r}"
            )
        if plate.is_valid(fmt.counterexample):
            raise PlateFormatError(
                f"{path}: {where}.counterexample: {fmt.counterexample!r} fits template {fmt.template!r}"
            )
        formats.append(plate)
    total = sum(f.weight for f in formats)
    formats = [replace(f, country_share=f.weight / total, traffic=spec.traffic) for f in formats]
    return Country(
        code=spec.country,
        name=spec.name,
        band_code=spec.band_code,
        traffic=spec.traffic,
        script=spec.script,
        letters=letters,
        formats=tuple(formats),
        tables=tables,
        region_table=region_tables[0] if region_tables else None,
        region_names=region_names,
        source=path,
    )


def _load_dir(directory: Path) -> dict[str, Country]:
    if not directory.is_dir():
        raise PlateFormatError(f"{directory}: not a directory of country files")
    countries: dict[str, Country] = {}
    for path in sorted(directory.glob("*.yaml")):
        country = load_country_file(path)
        if country.code in countries:
            raise PlateFormatError(
                f"{path}: country {country.code} is already defined in {countries[country.code].source.name}"
            )
        countries[country.code] = country
    return countries


class FormatRegistry:
    """All known plate formats, by country."""

    def __init__(self, countries: Iterable[Country]) -> None:
        self._countries = {c.code: c for c in countries}
        if not self._countries:
            raise PlateFormatError("the registry has no countries")
        self.formats: list[PlateFormat] = [f for c in self._countries.values() for f in c.formats]
        self._by_key = {f.key: f for f in self.formats}
        self._automata: dict[tuple[tuple[str, ...], int | None], PlateAutomaton] = {}

    @property
    def countries(self) -> list[str]:
        return list(self._countries)

    def country(self, code: str) -> Country:
        try:
            return self._countries[code.upper()]
        except KeyError:
            known = ", ".join(self.countries)
            raise KeyError(f"no country {code!r} in the registry; known: {known}") from None

    def country_for_band(self, band_code: str) -> str:
        """The country whose plates carry ``band_code`` (D, PL, F, SK, UK ...) on their band.

        For a reader of the band: ``decode_plate(..., priors={registry.country_for_band("F"):
        1000.0})`` settles what text cannot (FR AB123CD is an Italian plate too)."""
        code = band_code.strip().upper()
        for country in self._countries.values():
            if country.band_code == code:
                return country.code
        known = ", ".join(sorted(c.band_code for c in self._countries.values() if c.band_code))
        raise KeyError(f"no country with band code {band_code!r}; known: {known}")

    def only(self, keep: Callable[[PlateFormat], bool]) -> FormatRegistry:
        """A registry of the formats ``keep`` accepts, with the countries that have any. Each
        keeps its prior (its country's traffic and its share of it), so a plate ranks the same."""
        countries = [replace(c, formats=tuple(filter(keep, c.formats))) for c in self._countries.values()]
        return FormatRegistry(c for c in countries if c.formats)

    def get(self, country: str, format_id: str) -> PlateFormat:
        try:
            return self._by_key[f"{country.upper()}/{format_id}"]
        except KeyError:
            ids = ", ".join(f.id for f in self.country(country).formats)
            raise KeyError(f"{country} has no format {format_id!r}; it has: {ids}") from None

    def formats_for(self, countries: Sequence[str] | None = None) -> list[PlateFormat]:
        """Formats of the given countries (all when None), in registry order."""
        if countries is None:
            return list(self.formats)
        if not countries:
            raise ValueError("an empty list of countries allows no plate; pass None for all countries")
        wanted = [self.country(c).code for c in countries]
        return [f for f in self.formats if f.country in wanted]

    def sample_format(self, rng: np.random.Generator, countries: Sequence[str] | None = None) -> PlateFormat:
        """A format drawn by its ``weight``."""
        formats = self.formats_for(countries)
        weights = np.array([f.weight for f in formats], dtype=np.float64)
        return formats[int(rng.choice(len(formats), p=weights / weights.sum()))]

    def random_plate(
        self, rng: np.random.Generator, countries: Sequence[str] | None = None
    ) -> tuple[PlateFormat, str]:
        """A format drawn by weight and a random canonical plate of it."""
        fmt = self.sample_format(rng, countries)
        return fmt, fmt.random_text(rng)

    def automaton(self, countries: Sequence[str] | None = None, rows: int | None = None) -> PlateAutomaton:
        """The glyph automaton accepting exactly the plates of these countries (cached); with
        ``rows``, only those of their formats printed in that many rows (a reader's one-row view
        of a crop cannot show a two-row plate, and the search is cheaper without them)."""
        from common.plates.automaton import PlateAutomaton

        key = tuple(sorted({self.country(c).code for c in countries})) if countries is not None else ()
        if countries is not None and not key:
            raise ValueError("an empty list of countries allows no plate; pass None for all countries")
        if (key, rows) not in self._automata:
            formats = self.formats_for(key or None)
            if rows is not None:
                formats = [f for f in formats if f.rows == rows]
                if not formats:
                    raise ValueError(f"no format of {', '.join(key) or 'any country'} has {rows} rows")
            self._automata[key, rows] = PlateAutomaton.from_formats(formats)
        return self._automata[key, rows]


@cache
def _default_registry() -> FormatRegistry:
    return FormatRegistry(_load_dir(COUNTRIES_DIR).values())


def load_registry(*extra_dirs: str | Path, include_bundled: bool = True) -> FormatRegistry:
    """The registry of the bundled country files plus those in ``extra_dirs``.

    Without arguments the bundled registry is built once and shared.
    """
    if not extra_dirs and include_bundled:
        return _default_registry()
    countries: dict[str, Country] = dict(_load_dir(COUNTRIES_DIR)) if include_bundled else {}
    for directory in extra_dirs:
        countries.update(_load_dir(Path(directory)))
    return FormatRegistry(countries.values())
