"""European plates: every country is there, region tables name regions and reject unknown codes,
and with every country on, a plate goes to the country whose format makes it likeliest."""

from __future__ import annotations

import numpy as np
import pytest

from common.plates.alphabet import BLANK_INDEX, READER_ALPHABET, encode
from common.plates.automaton import PlateAutomaton
from common.plates.correct import correct
from common.plates.decode import decode_plate, format_log_prior
from common.plates.registry import load_registry
from common.plates.simulate import synthetic_emissions
from common.plates.validate import validate

REGISTRY = load_registry()

EU27 = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}
REST_OF_EUROPE = {"GB", "CH", "NO", "IS", "LI", "AL", "BA", "ME", "MK", "RS", "XK", "TR"}
CIS = {"RU", "UA", "BY", "KZ", "UZ", "KG", "AM", "GE", "MD", "AZ"}


def test_every_european_country_and_the_cis_are_in_the_registry() -> None:
    assert set(REGISTRY.countries) >= EU27 | REST_OF_EUROPE | CIS
    assert len(REGISTRY.countries) >= 40


def test_band_codes_are_there_and_unique() -> None:
    codes = {c: REGISTRY.country(c).band_code for c in REGISTRY.countries}
    assert all(codes.values()), [c for c, code in codes.items() if not code]
    assert len(set(codes.values())) == len(codes)
    assert (codes["DE"], codes["SK"], codes["AT"], codes["GB"], codes["LI"]) == ("D", "SK", "A", "UK", "FL")
    assert [REGISTRY.country_for_band(b) for b in ("F", "i", "PL", "UK")] == ["FR", "IT", "PL", "GB"]
    with pytest.raises(KeyError, match="no country with band code 'ZZ'"):
        REGISTRY.country_for_band("ZZ")


def test_a_band_code_settles_what_the_text_cannot() -> None:
    logprobs = synthetic_emissions("AB123CD", np.random.default_rng(16))
    assert {c.country for c in decode_plate(logprobs)} >= {"FR", "IT"}
    french = decode_plate(logprobs, priors={REGISTRY.country_for_band("F"): 1000.0})[0]
    assert (french.country, french.format) == ("FR", "siv")


@pytest.mark.parametrize(
    ("plate", "country", "format_id", "region", "region_name"),
    [
        ("BA-123AB", "SK", "standard", "BA", "Bratislava"),
        ("KS 456 CD", "SK", "standard", "KS", "Košice-okolie"),
        ("GU-12345 A", "AT", "standard", "GU", "Graz-Umgebung"),
        ("CJ 12 ABC", "RO", "standard", "CJ", "Cluj"),
        ("353 ASK 35", "FR", "fni", "35", "Ille-et-Vilaine"),
        ("12 AB 2A", "FR", "fni", "2A", "Corse-du-Sud"),
        ("06 AB 123", "TR", "two_letters", "06", "Ankara"),
        ("ZH 123456", "CH", "standard", "ZH", "Zürich"),
        ("CK 123-A", "HR", "standard", "CK", "Čakovec (ČK)"),
        ("191-D-12345", "IE", "standard", "D", "Dublin"),
        ("M-1234-AB", "ES", "provincial", "M", "Madrid"),
        ("СА 1234 АВ", "BG", "standard", "СА", "София (град)"),
        ("KR 1AC23", "PL", "standard_1d2l2d", "KR", "Kraków"),
        ("SBL 66094", "PL", "standard_long", "SBL", "powiat bieruńsko-lędziński"),
        ("S7 JM7", "PL", "individual", "S", "śląskie"),
        ("PY 55-01", "CZ", "district_1960", None, None),
        ("NS 123-AB", "RS", "standard", "NS", "Novi Sad"),
        ("CA 1234-XA", "RS", "standard", "CA", "Čačak (ČA)"),
        ("90-AB-123", "AZ", "standard", "90", "Bakı"),
        ("70-AB-123", "AZ", "standard", "70", "Naxçıvan"),
    ],
)
def test_region_tables_name_the_region(
    plate: str, country: str, format_id: str, region: str | None, region_name: str | None
) -> None:
    parsed = REGISTRY.get(country, format_id).parse(plate)
    assert parsed is not None
    assert (parsed.region_code, parsed.region_name) == (region, region_name)


@pytest.mark.parametrize(
    ("plate", "country", "format_id"),
    [
        ("BX-123AB", "SK", "standard"),  # no district BX
        ("BA-1234B", "SK", "standard"),
        ("BA-123AW", "SK", "standard"),  # no Q or W in the serial letters
        ("BA-123QA", "SK", "standard"),
        ("Q-12345 A", "AT", "standard"),  # no district Q
        ("XX 12 ABC", "RO", "standard"),  # no county XX
        ("CJ 12 IBC", "RO", "standard"),  # the letters never start with I
        ("AB-123-OD", "FR", "siv"),  # no O in SIV
        ("1020 HG 96", "FR", "fni"),  # no department 96
        ("82 AB 123", "TR", "two_letters"),  # 81 provinces
        ("QQ 1234-AB", "HR", "standard"),
        ("ZZ 123456", "CH", "standard"),  # no canton ZZ
        ("1234 ABC", "ES", "standard"),  # vowels are not used
        ("AB-12-CD", "NL", "sidecode_4"),  # vowels are not used since 1978
        ("QA 12345", "PL", "standard"),  # no voivodeship Q
        ("KX 12345", "PL", "standard"),  # no district KX
        ("SBX 12345", "PL", "standard_long"),  # no district SBX
        ("KR 466WO", "PL", "standard_3d2l"),  # no O in a serial
        ("KR 46A6W", "PL", "standard_3d2l"),
        ("AB51 ABI", "GB", "current"),  # no I in the random letters
        ("KIO 123", "CY", "standard"),  # only the letters Greek and Latin share, and no I or O
        ("KAC 123", "CY", "standard"),
        ("ABQ 123", "LT", "standard"),  # no Q, W or X
        ("OA 1234", "LU", "standard"),  # no I or O
        ("ZG 123-Q", "HR", "standard"),  # no Q, W, X or Y
        ("SK 1234 WA", "MK", "standard"),  # no letter without a Cyrillic twin
        ("PG IA 123", "ME", "standard"),  # no I or O
        ("99-WY-00", "PT", "standard_2005"),  # no W or Y before 2020
        ("AB CD-123", "HU", "standard"),  # the first two letters: both vowels or both consonants
        ("AB CD-123", "HU", "standard_consonants"),
        ("AB27 ABC", "GB", "current"),  # no age identifier 27
        ("QE 504-DL", "RS", "standard"),  # no area QE
        ("BG 123-AQ", "RS", "standard"),  # no Q in the serial
        ("13-AB-123", "AZ", "standard"),  # region 13 is not used
        ("80-AB-123", "AZ", "standard"),  # no region 80
        ("1-AOC-123", "BE", "standard"),  # no O on plates since 2010
        ("3-ABC-123", "BE", "standard"),  # the first digit is 1 or 2
    ],
)
def test_near_misses_are_rejected(plate: str, country: str, format_id: str) -> None:
    assert not REGISTRY.get(country, format_id).is_valid(plate)


@pytest.mark.parametrize(
    ("serial", "format_id"),
    [
        ("A123", "standard_long_1l3d"),
        ("12AC", "standard_long_2d2l"),
        ("1A23", "standard_long_1d1l2d"),
        ("12A3", "standard_long_2d1l1d"),
        ("1AC2", "standard_long_1d2l1d"),
        ("AC12", "standard_long_2l2d"),
        ("12345", "standard_long"),
        ("1234A", "standard_long_4d1l"),
        ("123AC", "standard_long_3d2l"),
    ],
)
def test_a_three_letter_polish_district_takes_the_nine_serials_of_the_regulation(
    serial: str, format_id: str
) -> None:
    assert validate("WPI" + serial, countries=["PL"]).best.format == format_id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "serial",
    [
        "1234",  # four digits: only two-letter districts have digit-only serials, of five
        "A12C",  # letter, digits, letter: not a series of the regulation
        "A1CE",
        "1ACE",
        "0A23",  # a lone leading digit is 1-9
        "12A0",  # a lone trailing digit is 1-9
    ],
)
def test_serials_outside_the_regulation_are_no_polish_plate(serial: str) -> None:
    assert not validate("WPI" + serial, countries=["PL"]).valid


def test_polish_individual_plates_end_in_at_most_two_digits() -> None:
    individual = REGISTRY.get("PL", "individual")
    assert all(individual.is_valid(plate) for plate in ("L0 BIBI", "B4 BMW99", "K6 Z17"))
    assert not individual.is_valid("K6 1Z7")  # digits only in the last two places
    assert not individual.is_valid("K6 Q17")  # Polish plates have no Q


def test_reader_glyphs_for_letters_it_cannot_print() -> None:
    # Diacritic district codes are keyed by the glyphs the reader emits, the name keeps the print.
    assert validate("VZ 123-AB", countries=["HR"]).best.region_name == "Varaždin (VŽ)"  # type: ignore[union-attr]
    assert validate("ZB AB 123", countries=["ME"]).best.region_name == "Žabljak (ŽB)"  # type: ignore[union-attr]
    # Greek plate letters are stored as their Latin twins.
    assert validate("ΙΚΑ 1234".replace("Ι", "I").replace("Κ", "K").replace("Α", "A"), countries=["GR"]).valid
    for country in REGISTRY.countries:
        for key in REGISTRY.country(country).tables.get(REGISTRY.country(country).region_table or "", ()):
            assert set(key) <= set(READER_ALPHABET)


def _phantom_between(text: str, index: int, glyph: str, glyph_prob: float, seed: int) -> np.ndarray:
    """Reader-like output for ``text`` with ``glyph`` inserted before position ``index``, read
    there with probability ``glyph_prob`` (the blank has the rest): a coat of arms or sticker
    that the reader half takes for a glyph."""
    with_phantom = text[:index] + glyph + text[index:]
    logprobs = synthetic_emissions(with_phantom, np.random.default_rng(seed))
    phantom = encode(glyph)[0]
    frames = [f for f in range(logprobs.shape[0]) if logprobs[f].argmax() == phantom]
    out = logprobs.copy()
    for f in frames:
        out[f, BLANK_INDEX] = out[f, phantom] + np.log((1 - glyph_prob) / glyph_prob)
    return out - np.logaddexp.reduce(out, axis=1, keepdims=True)


def test_a_coat_of_arms_read_as_a_glyph_does_not_make_a_slovak_plate_polish() -> None:
    # SP (Stropkov) + coat of arms + 123UA: read as SPI123UA it is a PL plate (SPI is Piekary
    # Śląskie, serial 123UA).
    assert {m.country for m in validate("SPI123UA").matches} == {"PL"}
    logprobs = _phantom_between("SP123UA", 2, "I", glyph_prob=0.7, seed=11)
    best = decode_plate(logprobs)[0]
    assert (best.latin, best.country, best.region_name) == ("SP123UA", "SK", "Stropkov")
    # The reader alone prefers the phantom glyph: the prior of the formats decides.
    reader_only = decode_plate(logprobs, format_prior_strength=0.0)[0]
    assert (reader_only.latin, reader_only.country) == ("SPI123UA", "PL")
    # With the PL district table most such readings are no plate at all: POI is no district.
    assert not validate("POI123AC").valid


def test_a_plate_two_countries_issue_goes_to_the_commoner_one() -> None:
    # BA123AB is Bratislava and also an Italian plate: Italy has 16 times the cars, so IT comes
    # first unless the device says otherwise (or, later, the plate's band is read).
    best = decode_plate(synthetic_emissions("BA123AB", np.random.default_rng(15)))
    assert best[0].country == "IT" and "SK" in {c.country for c in best}
    slovak = decode_plate(synthetic_emissions("BA123AB", np.random.default_rng(15)), priors={"SK": 20.0})
    assert (slovak[0].country, slovak[0].region_name) == ("SK", "Bratislava")


def test_a_string_of_several_countries_goes_to_the_tighter_format() -> None:
    # B12XEN is Bucharest (RO, 42 counties x 100 numbers) and Bregenz (AT, a far looser format).
    assert {m.country for m in validate("B12XEN").matches} >= {"RO", "AT"}
    ro = REGISTRY.get("RO", "standard")
    at = REGISTRY.get("AT", "standard_3l")
    assert format_log_prior(ro, ro.parse("B12XEN").parts) > format_log_prior(at, at.parse("B12XEN").parts)  # type: ignore[union-attr]
    best = decode_plate(synthetic_emissions("B12XEN", np.random.default_rng(12)))[0]
    assert (best.country, best.region_name) == ("RO", "București")
    assert validate("B12XEN").best.country == "RO"  # type: ignore[union-attr]
    # A device prior still wins over the format.
    austrian = decode_plate(synthetic_emissions("B12XEN", np.random.default_rng(12)), priors={"AT": 1e4})[0]
    assert austrian.country == "AT"


def test_russian_plates_stay_russian_with_every_country_on() -> None:
    rng = np.random.default_rng(13)
    for text in ("A123BC77", "M948CB46", "T382CM178", "E858OH78"):
        best = decode_plate(synthetic_emissions(text, rng))[0]
        assert (best.latin, best.country) == (text, "RU")


def test_the_all_country_automaton_is_minimal_and_agrees_with_the_country_automata() -> None:
    everything = REGISTRY.automaton()
    rng = np.random.default_rng(14)
    for fmt in REGISTRY.formats:
        glyphs = fmt.random_glyphs(rng)
        accepted = {f.key for f in everything.accepted_formats(glyphs)}
        assert fmt.key in accepted
        assert accepted == {f.key for f in REGISTRY.formats if f.is_valid(glyphs)}
    # Minimised: no two states have the same moves and accepted formats; the German district
    # trie (681 codes) ends in a few states that the rest of the plate shares.
    rows = everything.transitions
    distinct = {tuple(r) + everything.labels[i] for i, r in enumerate(rows.tolist())}
    assert len(distinct) == everything.num_states
    german = PlateAutomaton.from_formats([REGISTRY.get("DE", "standard")])
    german_districts = sum(len(REGISTRY.country("DE").tables[f"district_{n}"]) for n in (1, 2, 3))
    assert german.num_states < german_districts / 2


@pytest.mark.parametrize(
    ("printed", "misread"),
    [
        ("AB-123-CD", "AB1123ICD"),  # FR: both dashes read as glyphs
        ("M-AB 123", "M1AB123"),  # DE: the dash between district and letters read as 1
        ("12-AB-34", "121AB134"),  # NL
        ("1-ABC-123", "11ABC1123"),  # BE
        ("ZG 1234-AB", "ZG1234IAB"),  # HR: the dash read as I
    ],
)
def test_a_separator_read_as_a_glyph_is_no_plate_of_any_country(printed: str, misread: str) -> None:
    assert validate(printed).valid
    assert not validate(misread).valid


def test_the_text_corrector_still_fixes_a_look_alike_with_every_country_on() -> None:
    # Countries with very short plates (CH ZH 1) must not raise the prior cost of every longer
    # plate past the corrector's bound.
    first = correct("A1Z3BC77")[0]
    assert (first.latin, first.country, first.edits) == ("A123BC77", "RU", ("'Z'->'2' at 3",))
    assert correct("SK44OAY")[0].latin == "SK440AY"  # PL serials have no O
