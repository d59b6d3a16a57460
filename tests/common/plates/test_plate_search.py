"""Search keys: one plate whatever its spelling, and look-alike aware variants."""

from __future__ import annotations

import pytest

from common.plates.normalize import normalize_plate
from common.plates.search import fuzzy_key, same_plate, search_variants


def test_normal_form_is_upper_latin_glyphs_without_separators() -> None:
    assert normalize_plate("а123вс 77") == "A123BC77"
    assert normalize_plate(" A-123.BC_77 ") == "A123BC77"
    assert normalize_plate("ВС 1234 АІ") == "BC1234AI"
    assert normalize_plate("") == ""


def test_text_that_no_plate_carries_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'Ж'"):
        normalize_plate("Ж123ВС77")
    with pytest.raises(ValueError, match="'#'"):
        normalize_plate("A123#BC77")


def test_cyrillic_and_latin_spellings_are_the_same_plate() -> None:
    assert same_plate("А123ВС77", "a 123 bc 77")
    assert not same_plate("А123ВС77", "А123ВС777")


def test_fuzzy_key_merges_look_alikes_only() -> None:
    assert fuzzy_key("O777OO99") == fuzzy_key("0777O099") == fuzzy_key("О777ОО99")
    assert fuzzy_key("K001KK197") == fuzzy_key("KOO1KK197")
    assert fuzzy_key("B123") == fuzzy_key("8123")
    assert fuzzy_key("X999XX50") != fuzzy_key("X988XX50")


def test_variants_cover_look_alike_misreadings_and_merged_repeats() -> None:
    variants = search_variants("А108ВС77")
    assert variants[0] == "A108BC77"
    assert {"A1O8BC77", "A10BBC77", "AI08BC77", "A108BC7"} <= set(variants)
    assert len(variants) == len(set(variants))
    two = search_variants("A108BC77", max_substitutions=2)
    assert "AIO8BC77" in two and set(variants) <= set(two)
    assert len(search_variants("A108BC77", max_substitutions=2, max_variants=10)) == 10
    assert search_variants("XXX", max_substitutions=0) == ["XXX", "XX"]
