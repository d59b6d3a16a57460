"""Search keys: one plate whatever its spelling, a look-alike aware fuzzy key, fuzzy candidates."""

from __future__ import annotations

import pytest

from common.plates.normalize import normalize_plate
from common.plates.search import fuzzy_key, one_edit_fuzzy_keys, stored_plate_key


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


def test_stored_key_is_the_glyph_form_and_keeps_characters_outside_the_alphabet() -> None:
    assert stored_plate_key("а123вс 77") == normalize_plate("а123вс 77") == "A123BC77"
    assert stored_plate_key("ж123-вс 77") == "Ж123BC77"
    assert fuzzy_key("ж123-вс 77") == "Ж1238C77"


def test_fuzzy_key_merges_look_alikes_only() -> None:
    assert fuzzy_key("O777OO99") == fuzzy_key("0777O099") == fuzzy_key("О777ОО99")
    assert fuzzy_key("K001KK197") == fuzzy_key("KOO1KK197")
    assert fuzzy_key("B123") == fuzzy_key("8123")
    assert fuzzy_key("X999XX50") != fuzzy_key("X988XX50")
    assert fuzzy_key("A123BC77") == fuzzy_key("4123BC77") == "41238C77"


def test_one_edit_candidates_are_exactly_distance_one() -> None:
    candidates = one_edit_fuzzy_keys("K7")
    assert fuzzy_key("K7") in candidates and "K" in candidates and "7" in candidates
    assert "KK7" in candidates and "K77" in candidates and "C7" in candidates
    assert "CC" not in candidates and "C77" not in candidates
    # Look-alikes fold before editing: "O8" is the fuzzy key "08", one edit from "0".
    assert fuzzy_key("O8") == "08" and "0" in one_edit_fuzzy_keys("O8")


def test_adjacent_transposition_is_one_edit() -> None:
    # A132BC77 typed for A123BC77: a swap of neighbours is one Damerau edit, not two substitutions.
    assert fuzzy_key("A123BC77") in one_edit_fuzzy_keys("A132BC77")
    assert "7K" in one_edit_fuzzy_keys("K7")
    # Swapping characters two apart is two edits.
    assert fuzzy_key("A123BC77") not in one_edit_fuzzy_keys("A321BC77")
