"""Validation, country detection and canonical text."""

from __future__ import annotations

from common.plates.validate import validate


def test_cyrillic_and_latin_spellings_are_the_same_valid_plate() -> None:
    for spelling in ("А123ВС77", "A123BC77", "a 123 bc-77", "А123BC77"):
        result = validate(spelling)
        assert result.valid, spelling
        assert result.latin == "A123BC77"
        assert result.best is not None
        assert (result.best.canonical, result.best.format_key) == ("А123ВС77", "RU/standard")
        assert (result.best.region_code, result.best.region_name) == ("77", "Москва")


def test_three_digit_regions_and_other_cis_countries() -> None:
    assert validate("Е001КХ 777").best.region_name == "Москва"  # type: ignore[union-attr]
    ua = validate("BC 1234 AI").best
    assert ua is not None and (ua.canonical, ua.region_name) == ("ВС1234АІ", "Львівська область")
    kz = validate("123 ABC 02").best
    assert kz is not None and (kz.country, kz.canonical, kz.region_name) == ("KZ", "123ABC02", "Алматы")
    by = validate("1234 AB-7").best
    assert by is not None and (by.country, by.canonical, by.region_name) == ("BY", "1234АВ7", "Минск")


def test_an_unknown_region_code_is_invalid_with_the_position_named() -> None:
    result = validate("А123ВС00")
    assert not result.valid
    assert result.reason is not None
    assert "RU/standard" in result.reason and "glyph 8 '0'" in result.reason


def test_reasons_for_foreign_characters_short_and_long_text() -> None:
    assert "Я" in (validate("Я123ЯЯ77").reason or "")
    assert "no plate characters" in (validate(" - ").reason or "")
    assert "ends too early" in (validate("А123В", countries=["RU"]).reason or "")
    assert "complete plate ends before glyph 10" in (validate("А123ВС7777", countries=["RU"]).reason or "")


def test_several_countries_are_ranked_by_the_device_prior() -> None:
    plain = validate("ABK 123").matches
    # Three letters and three digits is a plate in nine countries (some in an older format).
    assert {m.country for m in plain} == {"LT", "MD", "FI", "DE", "HU", "SE", "BE", "CY", "MT"}
    assert abs(sum(m.likelihood for m in plain) - 1.0) < 1e-9
    ranked = validate("ABK 123", priors={"MD": 20.0, "LT": 5.0}).matches
    assert [m.country for m in ranked][:2] == ["MD", "LT"]
    assert validate("ABK 123", priors={"MD": 20.0}).best.country == "MD"  # type: ignore[union-attr]


def test_countries_limit_what_is_accepted() -> None:
    assert validate("ABC123", countries=["LT"]).best.country == "LT"  # type: ignore[union-attr]
    assert not validate("ABC123", countries=["RU", "KZ"]).valid


def test_special_ru_formats_are_told_apart() -> None:
    assert validate("ТС 123 Х 78").best.format == "transit"  # type: ignore[union-attr]
    assert validate("У 0001 99").best.format == "police"  # type: ignore[union-attr]
    assert validate("001 CD 1 77").best.canonical == "001CD177"  # type: ignore[union-attr]
    formats = {m.format for m in validate("0101 ОК 33").matches}
    assert formats == {"military", "motorcycle"}  # same glyphs, different plates


def test_german_plates_name_their_district_and_unknown_districts_are_rejected() -> None:
    munich = validate("M-XY 123", countries=["DE"]).best
    assert munich is not None and (munich.region_code, munich.region_name) == ("M", "München")
    # The reader has no Ü: MÜ is read, and keyed, as MU; the name gives the printed code.
    muehldorf = validate("MU-AB 12", countries=["DE"]).best
    assert muehldorf is not None and muehldorf.region_name == "Mühldorf am Inn (MÜ)"
    electric = validate("KA-E 2024E", countries=["DE"]).best
    assert electric is not None and (electric.format, electric.region_name) == ("electric", "Karlsruhe")
    # At most eight glyphs, an electric car's E included (KBA): a three-letter district leaves
    # room for two letters and three digits, and the E for one digit fewer.
    assert validate("BAD-AB 123", countries=["DE"]).valid
    assert not validate("BAD-AB 1234", countries=["DE"]).valid
    assert not validate("KA-EV 2024E", countries=["DE"]).valid
    unknown = validate("QQ-AB 123", countries=["DE"])
    assert not unknown.valid
    assert unknown.reason is not None and "DE/standard" in unknown.reason and "glyph 2 'Q'" in unknown.reason
    assert not validate("XYZ-A 1", countries=["DE"]).valid
