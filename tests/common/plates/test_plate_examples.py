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
    "PL/standard": ("KR 1AB23", "KR ABC23", "KR1AB23"),
    "PL/standard_long": ("WPI 12345", "WPI A2345", "WPI12345"),
    "FI/standard": ("XY-1", "X-1", "XY1"),
    "LT/standard": ("LTU 777", "LTU 77A", "LTU777"),
    "LV/standard": ("LV-1", "LV-10000", "LV1"),
    "EE/standard": ("001 EST", "001 ES1", "001EST"),
    "CZ/standard": ("2Z9 0000", "2Q9 0000", "2Z90000"),
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
