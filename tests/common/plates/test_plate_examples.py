"""Every format of the registry with a plate it accepts and one it rejects."""

from __future__ import annotations

import pytest

from common.plates.registry import load_registry

# format key -> (valid, invalid, canonical form of the valid one)
EXAMPLES: dict[str, tuple[str, str, str]] = {
    "RU/standard": ("А123ВС77", "А123ВС00", "А123ВС77"),
    "RU/square": ("K001KK 197", "K001K197", "К001КК197"),
    "RU/taxi": ("ТХ 777 50", "Т 777 50", "ТХ77750"),
    "RU/trailer": ("ВК 5678 23", "ВК 567 23", "ВК567823"),
    "RU/transit": ("ОО 111 Р 799", "ОО 111 Р", "ОО111Р799"),
    "RU/police": ("У 0001 99", "УУ 0001 99", "У000199"),
    "RU/military": ("0101 ОК 33", "0101 ОК 3", "0101ОК33"),
    "RU/diplomatic": ("009 CD 2 78", "009 CT 2 78", "009CD278"),
    "RU/diplomatic_staff": ("009 T 123 78", "009 X 123 78", "009T12378"),
    "RU/motorcycle": ("5555 МН 61", "5555 М 61", "5555МН61"),
    "UA/standard": ("ВС 0001 АІ", "ВС 0001 АУ", "ВС0001АІ"),
    "UA/trailer": ("АА 7777 ХК", "АА 7777 КХ", "АА7777ХК"),
    "KZ/standard": ("777 QWE 17", "777 QWE 00", "777QWE17"),
    "KZ/legal": ("001 ZZ 05", "001 ZZ5", "001ZZ05"),
    "BY/standard": ("0001 IT-5", "0001 IT-0", "0001ІТ5"),
    "BY/trailer": ("Х 4242 Х-3", "Х 424 Х-3", "Х4242Х3"),
    "UZ/standard": ("95 Z 001 AA", "96 Z 001 AA", "95Z001AA"),
    "UZ/legal": ("10 100 XYZ", "10 100 XY1", "10100XYZ"),
    "KG/standard": ("09 999 KGZ", "00 999 KGZ", "09999KGZ"),
    "AM/standard": ("99 ZZ 999", "99 Z9 999", "99ZZ999"),
    "GE/standard": ("TB-001-AA", "TB-001-A", "TB001AA"),
    "MD/standard": ("KKK 001", "KK1 001", "KKK001"),
    "DE/standard": ("HH-A 1", "HH-A 01", "HHA1"),
    "DE/electric": ("KA-EV 2024E", "KA-EV 2024", "KAEV2024E"),
    "DE/short_term": ("M-03 1234", "M-04 1234", "M031234"),
    "DE/red": ("HB-06 199", "HB-06 12345", "HB06199"),
    "PL/standard": ("KR 12345", "KR 1234", "KR12345"),
    "PL/standard_4d1l": ("ST 2105K", "ST 2105O", "ST2105K"),
    "PL/standard_3d2l": ("SK 440AY", "SK 440AZ", "SK440AY"),
    "PL/standard_1d1l3d": ("WA 1C234", "WA 1D234", "WA1C234"),
    "PL/standard_1d2l2d": ("GD 1KR23", "GD 1KR2", "GD1KR23"),
    "PL/standard_long": ("WPI 12345", "WPI A2345", "WPI12345"),
    "FI/standard": ("XY-1", "X-1", "XY1"),
    "LT/standard": ("LTU 777", "LTU 77A", "LTU777"),
    "LV/standard": ("LV-1", "LV-10000", "LV1"),
    "EE/standard": ("001 EST", "001 ES1", "001EST"),
    "CZ/standard": ("2Z9 0000", "2ZO 0000", "2Z90000"),
    "CZ/two_row": ("3B7 | 1234", "3Q7 | 1234", "3B71234"),
    "CZ/district_1960": ("PY 55-01", "PQ 55-01", "PY5501"),
    "PL/standard_long_letters": ("KTT RJ07", "KTT RJO7", "KTTRJ07"),
    "PL/individual": ("S7 JM7", "S7 7M7", "S7JM7"),
    "PL/two_row": ("WA | 12345", "WA | A2345", "WA12345"),
    "SK/standard": ("ZA-555AA", "ZQ-555AA", "ZA555AA"),
    "SK/statewide": ("AA 001AA", "BA0001AA", "AA001AA"),
    "SK/two_row": ("BL | 100 XY", "BL | 10 XY", "BL100XY"),
    "AT/standard": ("W-12345 A", "W-012 A", "W12345A"),
    "AT/standard_2l": ("GU-123 AB", "GQ-123 AB", "GU123AB"),
    "AT/standard_3l": ("L-1 ABC", "L-1234 ABC", "L1ABC"),
    "AT/requested": ("GU-AB 12", "GU-A 1", "GUAB12"),
    "AT/requested_1d": ("W-HANS 1", "W-HANS", "WHANS1"),
    "GB/current": ("BD51 SMR", "BD50 SMR", "BD51SMR"),
    "GB/current_two_row": ("YK 24 | ABC", "YK 24 | AB1", "YK24ABC"),
    "GB/prefix": ("R 77 ABC", "Q 77 ABC", "R77ABC"),
    "GB/northern_ireland": ("BIL 1234", "BIM 1234", "BIL1234"),
    "FR/siv": ("GH-001-BZ", "GH-001-OZ", "GH001BZ"),
    "FR/fni": ("1020 HG 90", "1020 HG 00", "1020HG90"),
    "FR/garage": ("W-373-KE", "W-3733-KE", "W373KE"),
    "FR/fni_collection": ("3608 PW 75", "3608 PW 96", "3608PW75"),
    "FR/siv_collection": ("AP-819-FK", "AO-819-FK", "AP819FK"),
    "IT/standard": ("FP 123 XY", "FP 123 XO", "FP123XY"),
    "IT/two_row": ("EZ | 777 AB", "EU | 777 AB", "EZ777AB"),
    "ES/standard": ("4321 KLM", "4321 KLA", "4321KLM"),
    "ES/two_row": ("1234 | BBB", "1234 | BB", "1234BBB"),
    "ES/provincial": ("GC 4321 AZ", "GX 4321 AZ", "GC4321AZ"),
    "NL/sidecode_1": ("AB-12-34", "A1-12-34", "AB1234"),
    "NL/sidecode_2": ("12-34-AB", "12-34-5B", "1234AB"),
    "NL/sidecode_3": ("12-AB-34", "12-A1-34", "12AB34"),
    "NL/sidecode_4": ("XZ-99-ZZ", "XA-99-ZZ", "XZ99ZZ"),
    "NL/sidecode_5": ("VZ-GR-01", "VZ-GA-01", "VZGR01"),
    "NL/sidecode_6": ("01-ZZ-BB", "01-ZZ-BC", "01ZZBB"),
    "NL/sidecode_7": ("99-XXJ-1", "99-XXI-1", "99XXJ1"),
    "NL/sidecode_8": ("4-TFN-25", "4-TFM-25", "4TFN25"),
    "NL/sidecode_9": ("GB-001-B", "GB-001-W", "GB001B"),
    "NL/sidecode_10": ("K-123-BB", "K-123-BA", "K123BB"),
    "NL/sidecode_11": ("GBB-01-N", "GBB-01-Y", "GBB01N"),
    "NL/sidecode_12": ("N-01-BBB", "N-01-BBC", "N01BBB"),
    "NL/sidecode_13": ("1-KB-001", "1-KE-001", "1KB001"),
    "BE/standard": ("2-ZZZ-999", "0-ZZZ-999", "2ZZZ999"),
    "BE/digits_first": ("999-ZZZ", "999-ZZ9", "999ZZZ"),
    "BE/letters_first": ("ZZZ-999", "ZZZ-99", "ZZZ999"),
    "RO/standard": ("IF 10 KAX", "IX 10 KAX", "IF10KAX"),
    "RO/bucharest": ("B 320 WTW", "B 320 ITW", "B320WTW"),
    "RO/temporary": ("B 089414", "B 189414", "B089414"),
    "BG/standard": ("CA 1234 AB", "CA 1234 AD", "СА1234АВ"),
    "HR/standard": ("ZG 123-A", "ZG 12-A", "ZG123A"),
    "CY/standard": ("ZZZ 999", "ZZ 999", "ZZZ999"),
    "DK/standard": ("XY 98 765", "XY 98 76", "XY98765"),
    "GR/standard": ("ZHN 9999", "ZHN 0999", "ZHN9999"),
    "HU/standard": ("AB CD-123", "AB C1-123", "ABCD123"),
    "HU/standard_1990": ("XYZ-987", "XYZ-98", "XYZ987"),
    "IE/standard": ("262-C-1", "263-C-1", "262C1"),
    "IE/standard_1987": ("99-D-123456", "99-D-0123", "99D123456"),
    "LU/standard": ("ZZ 9999", "Z9 9999", "ZZ9999"),
    "MT/standard": ("XYZ 001", "XYZ 0001", "XYZ001"),
    "PT/standard": ("AA-01-ZZ", "AA-01-Z1", "AA01ZZ"),
    "PT/standard_2005": ("99-XX-00", "99-XX-0", "99XX00"),
    "PT/standard_1992": ("00-00-XX", "00-00-X0", "0000XX"),
    "PT/standard_1937": ("XX-00-00", "XX-00-0X", "XX0000"),
    "SI/standard": ("MB A1-234", "MB O1-234", "MBA1234"),
    "SE/standard": ("ZZZ 999", "ZZQ 999", "ZZZ999"),
    "SE/standard_2019": ("ABC 99Z", "ABC 9Z9", "ABC99Z"),
    "CH/standard": ("TI 1", "TI 01", "TI1"),
    "LI/standard": ("FL 1", "FL 0", "FL1"),
    "NO/standard": ("EL 12345", "EI 12345", "EL12345"),
    "IS/standard": ("ZZ 999", "Z9 999", "ZZ999"),
    "AL/standard": ("ZZ 000 AA", "ZZ 00 AA", "ZZ000AA"),
    "BA/standard": ("123-K-456", "123-B-456", "123K456"),
    "ME/standard": ("BD AA 999", "BQ AA 999", "BDAA999"),
    "MK/standard": ("SK 0001 ZZ", "SK 001 ZZ", "SK0001ZZ"),
    "RS/standard": ("NS 1234-ZZ", "NS 12345-ZZ", "NS1234ZZ"),
    "XK/standard": ("07 999 ZZ", "00 999 ZZ", "07999ZZ"),
    "TR/one_letter": ("81 Z 12345", "81 W 12345", "81Z12345"),
    "TR/two_letters": ("01 AB 1234", "82 AB 1234", "01AB1234"),
    "TR/three_letters": ("34 TUV 99", "34 AXB 99", "34TUV99"),
    "AZ/standard": ("77 ZZ 001", "77 Z1 001", "77ZZ001"),
}


def test_every_registry_format_has_examples_here() -> None:
    keys = {fmt.key for fmt in load_registry().formats}
    assert keys == set(EXAMPLES)


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_format_accepts_its_valid_example_and_rejects_the_invalid_one(key: str) -> None:
    country, format_id = key.split("/")
    fmt = load_registry().get(country, format_id)
    valid, invalid, canonical = EXAMPLES[key]
    parsed = fmt.parse(valid)
    assert parsed is not None, f"{key} rejects {valid!r}"
    assert parsed.canonical == canonical
    assert not fmt.is_valid(invalid), f"{key} accepts {invalid!r}"


def test_yaml_examples_fit_their_own_formats() -> None:
    for fmt in load_registry().formats:
        assert fmt.is_valid(fmt.example), fmt.key
