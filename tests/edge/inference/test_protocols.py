"""Which readings may make an event: confident ones that fit a known plate format."""

from __future__ import annotations

import pytest

from common.plates.reading import PlateReading


@pytest.mark.parametrize(
    ("reading", "require_valid", "accepted"),
    [
        (PlateReading("А123ВС77", "A123BC77", 0.9, "RU", "standard", valid=True), True, True),
        (PlateReading("А123ВС77", "A123BC77", 0.2, "RU", "standard", valid=True), True, False),
        (PlateReading("ЖЖЖ", "ZZZ", 0.9, valid=False), True, False),
        (PlateReading("ЖЖЖ", "ZZZ", 0.9, valid=False), False, True),
        (PlateReading("", "", 0.99, valid=False), False, False),
    ],
)
def test_acceptable_readings(reading: PlateReading, require_valid: bool, accepted: bool) -> None:
    assert reading.acceptable(0.3, require_valid) is accepted
