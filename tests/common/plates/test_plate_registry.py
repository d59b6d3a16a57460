"""The format registry: loading, checking, sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.plates.alphabet import CYRILLIC_PLATE_LETTERS
from common.plates.registry import COUNTRIES_DIR, PlateFormatError, load_country_file, load_registry

RU_FORMATS = {
    "standard",
    "square",
    "taxi",
    "trailer",
    "transit",
    "police",
    "military",
    "diplomatic",
    "diplomatic_staff",
    "motorcycle",
}

MINIMAL = """\
country: XA
name: Testland
script: latin
formats:
  - id: standard
    description: test plates
    template: "AA DDD"
    example: AB 123
    counterexample: AB 12
    plate_type: private
    colors: {background: white, text: black}
    weight: 1
"""


def _write(tmp_path: Path, text: str, name: str = "testland.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_registry_covers_at_least_twelve_countries_with_the_cis_core() -> None:
    registry = load_registry()
    assert len(registry.countries) >= 12
    assert {"RU", "UA", "KZ", "BY"} <= set(registry.countries)
    assert {f.id for f in registry.formats_for(["RU"])} == RU_FORMATS


def test_country_files_are_found_next_to_the_code() -> None:
    assert Path(__file__).resolve().parents[3] / "common" / "plates" / "countries" == COUNTRIES_DIR
    assert len(list(COUNTRIES_DIR.glob("*.yaml"))) == len(load_registry().countries)


def test_default_registry_is_built_once() -> None:
    assert load_registry() is load_registry()


def test_ru_region_table_holds_two_and_three_digit_codes_with_subject_names() -> None:
    ru = load_registry().country("RU")
    assert ru.region_names["77"] == "Москва"
    assert ru.region_names["797"] == "Москва"
    assert ru.region_names["47"] == "Ленинградская область"
    assert "00" not in ru.region_names
    assert all(len(code) in (2, 3) for code in ru.region_names)


def test_get_names_what_exists_when_a_format_is_missing() -> None:
    registry = load_registry()
    assert registry.get("ru", "taxi").colors.background == "yellow"
    with pytest.raises(KeyError, match="standard"):
        registry.get("RU", "bus")
    with pytest.raises(KeyError, match="no country 'ZZ'"):
        registry.get("ZZ", "standard")


@pytest.mark.parametrize("key", [f.key for f in load_registry().formats])
def test_random_text_is_always_a_valid_canonical_plate(key: str) -> None:
    fmt = load_registry().get(*key.split("/"))
    rng = np.random.default_rng(7)
    for _ in range(50):
        text = fmt.random_text(rng)
        parsed = fmt.parse(text)
        assert parsed is not None and parsed.canonical == text
        if fmt.region_table and fmt.region_names:
            assert parsed.region_name is not None
        letters = [ch for ch in text if ch.isalpha()]
        if fmt.script == "cyrillic":
            assert all(ch in CYRILLIC_PLATE_LETTERS + "І" for ch in letters)
        else:
            assert all("A" <= ch <= "Z" for ch in letters)


def test_ru_random_plates_use_real_region_codes_of_both_lengths() -> None:
    fmt = load_registry().get("RU", "standard")
    rng = np.random.default_rng(1)
    regions = {fmt.parse(fmt.random_text(rng)).region_code for _ in range(400)}  # type: ignore[union-attr]
    ru = load_registry().country("RU")
    assert regions <= set(ru.region_names)
    assert {len(r) for r in regions if r} == {2, 3}


def test_random_plate_draws_formats_by_weight() -> None:
    registry = load_registry()
    rng = np.random.default_rng(3)
    drawn = [registry.random_plate(rng, countries=["RU"])[0].id for _ in range(600)]
    assert drawn.count("standard") > drawn.count("taxi") * 5
    assert all(registry.get("RU", fmt_id).country == "RU" for fmt_id in set(drawn))


def test_two_row_formats_split_their_text_into_rows() -> None:
    registry = load_registry()
    square = registry.get("RU", "square")
    assert square.rows == 2
    assert square.layout("M456OP197") == [["М", "456"], ["ОР", "197"]]
    moto = registry.get("RU", "motorcycle")
    assert moto.layout("1234 AB 77") == [["1234"], ["АВ", "77"]]
    assert registry.get("RU", "standard").rows == 1


def test_formats_carry_rendering_facts() -> None:
    registry = load_registry()
    police = registry.get("RU", "police")
    assert (police.colors.background, police.colors.text) == ("blue", "white")
    assert registry.get("RU", "diplomatic").script == "latin"
    assert registry.get("UA", "standard").script == "cyrillic"
    assert registry.get("KZ", "standard").script == "latin"
    assert "eu_band" in registry.get("DE", "standard").decorations
    assert registry.get("RU", "standard").min_length == 8
    assert registry.get("RU", "standard").max_length == 9


def test_an_extra_directory_adds_a_country_and_can_replace_a_bundled_one(tmp_path: Path) -> None:
    _write(tmp_path, MINIMAL)
    _write(tmp_path, MINIMAL.replace("XA", "MD").replace("AA DDD", "AA DDDD").replace("AB 123", "AB 1234"),
           "moldova_local.yaml")
    registry = load_registry(tmp_path)
    assert registry.get("XA", "standard").is_valid("XY 999")
    assert registry.get("MD", "standard").is_valid("AB 1234")
    assert not registry.get("MD", "standard").is_valid("ABC 123")
    assert load_registry(tmp_path, include_bundled=False).countries == ["MD", "XA"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    weight: 1\n", ""), r"testland\.yaml: formats\.0\.weight: Field required"),
        (("AA DDD", "AA DDD Q"), r"formats\.0 \(standard\)\.template: unknown slot code 'Q'"),
        (("AA DDD", "AA <district>"), r"template: <district> names a table the country does not define"),
        (("example: AB 123", "example: A 123"), r"example: 'A 123' does not fit template"),
        (("counterexample: AB 12", "counterexample: XY 999"), r"counterexample: 'XY 999' fits template"),
        (("script: latin", "script: cyrillic"), r"script: letters .* have no Cyrillic twin"),
        (("country: XA", "country: Testland"), r"country: String should match pattern"),
        (("plate_type: private", "plate_type: private\n    colour: red"), r"colour: Extra inputs"),
        (("AA DDD", "AA D{3,1}"), r"bad count"),
    ],
)
def test_a_broken_country_file_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = _write(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(PlateFormatError, match=message):
        load_country_file(path)


def test_unquoted_numeric_table_keys_are_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("formats:", "tables:\n  region:\n    01: Capital\nformats:")
    with pytest.raises(PlateFormatError, match=r"tables\.region"):
        load_country_file(_write(tmp_path, text))


def test_invalid_yaml_and_duplicate_countries_are_reported(tmp_path: Path) -> None:
    bad = _write(tmp_path, "country: [unclosed\n", "bad.yaml")
    with pytest.raises(PlateFormatError, match=r"bad\.yaml: cannot read YAML"):
        load_country_file(bad)
    bad.unlink()
    _write(tmp_path, MINIMAL, "a.yaml")
    _write(tmp_path, MINIMAL, "b.yaml")
    with pytest.raises(PlateFormatError, match=r"b\.yaml: country XA is already defined in a\.yaml"):
        load_registry(tmp_path)


def test_the_tutorial_country_file_loads_as_written(tmp_path: Path) -> None:
    tutorial = Path(__file__).resolve().parents[3] / "docs" / "tutorials" / "adding_new_country.md"
    text = tutorial.read_text(encoding="utf-8")
    yaml_block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    _write(tmp_path, yaml_block, "azerbaijan.yaml")
    registry = load_registry(tmp_path)
    best = registry.get("AZ", "standard").parse("10 AB 123")
    assert best is not None and best.region_name == "Bakı"
    assert not registry.get("AZ", "standard").is_valid("10-AB-12")


def test_an_empty_country_list_is_refused_rather_than_read_as_all() -> None:
    registry = load_registry()
    with pytest.raises(ValueError, match="empty list of countries"):
        registry.formats_for([])
    with pytest.raises(ValueError, match="empty list of countries"):
        registry.automaton([])


def test_an_automaton_for_one_row_count_accepts_only_formats_printed_in_that_many_rows() -> None:
    from common.plates.alphabet import encode

    registry = load_registry()

    def formats(automaton, text: str) -> set[str]:
        state = automaton.walk(encode(text))
        return {automaton.formats[label].id for label in automaton.labels[state]}

    # One string, printed in one row (standard) or two (square); 1234AB77 is a two-row
    # motorcycle plate or a one-row military one.
    assert formats(registry.automaton(["RU"]), "A123BC77") == {"standard", "square"}
    assert formats(registry.automaton(["RU"], rows=1), "A123BC77") == {"standard"}
    assert formats(registry.automaton(["RU"], rows=2), "A123BC77") == {"square"}
    assert formats(registry.automaton(["RU"], rows=2), "1234AB77") == {"motorcycle"}
    assert formats(registry.automaton(["RU"], rows=1), "1234AB77") == {"military"}
    assert registry.automaton(["RU"], rows=2) is registry.automaton(["RU"], rows=2)  # cached
    with pytest.raises(ValueError, match="no format of FR has 2 rows"):
        registry.automaton(["FR"], rows=2)


def test_a_registry_of_some_formats_keeps_their_countries_and_priors() -> None:
    registry = load_registry()
    light = registry.only(lambda f: f.colors.light_text)
    assert sorted(light.countries) == sorted({f.country for f in registry.formats if f.colors.light_text})
    assert {"LI", "RU"} <= set(light.countries)
    assert {f.key for f in light.formats} == {f.key for f in registry.formats if f.colors.light_text}
    # The same formats, so the same prior (traffic, share of the country) and the same plates.
    assert light.get("RU", "military") is registry.get("RU", "military")
    assert {f.key for f in light.automaton().accepted_formats("0101OK33")} == {"RU/military"}
    assert light.automaton().accepted_formats("A123BC77") == []
    with pytest.raises(KeyError):
        light.get("RU", "standard")


def test_a_glyph_form_string_is_checked_as_is_valid_checks_any_spelling() -> None:
    registry = load_registry()
    siv, ru = registry.get("FR", "siv"), registry.get("RU", "standard")
    assert siv.reads_glyphs("AB123CD") and siv.is_valid("AB-123-CD")
    assert not siv.reads_glyphs("AB-123-CD")  # separators are not glyphs
    assert ru.reads_glyphs("A123BC77") and ru.is_valid("А123ВС77")
    assert not ru.reads_glyphs("А123ВС77")  # Cyrillic letters are not the glyph form
    for fmt in registry.formats_for(None):
        glyphs = fmt.parse(fmt.example)
        assert glyphs is not None and fmt.reads_glyphs(glyphs.latin), fmt.key
