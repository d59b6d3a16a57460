"""A plate event is the contract between edge, MQTT subscribers and central."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from common.events import ModelVersions, PlateEvent
from common.plates.reading import PlateReading


def make_event(**overrides: object) -> PlateEvent:
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    fields: dict[str, object] = {
        "site_id": "site-1",
        "device_id": "gate.north",
        "channel_id": "cam1",
        "captured_at": now,
        "first_seen": now - timedelta(seconds=2),
        "last_seen": now + timedelta(seconds=1),
        "plate": PlateReading(
            confidence=0.9, text="А123ВС77", latin="A123BC77", country="RU", format="standard",
                           region="Москва", valid=True),
        "confidence": 0.97,
        "box": (10, 20, 110, 45),
        "frames": 12,
        "crop_jpeg": b"\xff\xd8fakejpeg\xff\xd9",
        "models": ModelVersions(detector="det-1", reader="ocr-1"),
    }
    fields.update(overrides)
    return PlateEvent(**fields)  # type: ignore[arg-type]


def test_json_round_trip_keeps_every_field() -> None:
    event = make_event()
    assert PlateEvent.from_json(event.to_json()) == event


def test_images_travel_as_base64_in_json() -> None:
    payload = json.loads(make_event().to_json())
    assert base64.b64decode(payload["crop_jpeg"]) == b"\xff\xd8fakejpeg\xff\xd9"
    assert payload["thumbnail_jpeg"] is None


def test_event_ids_are_time_ordered_uuid7() -> None:
    first, second = make_event(), make_event()
    assert first.event_id.version == 7
    assert first.event_id < second.event_id


def test_times_are_normalised_to_utc() -> None:
    moscow = timezone(timedelta(hours=3))
    event = make_event(captured_at=datetime(2026, 11, 28, 13, 0, tzinfo=moscow))
    assert event.captured_at == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert event.captured_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make_event(captured_at=datetime(2026, 11, 28, 10, 0))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("confidence", 1.5),
        ("site_id", "site/1"),  # a slash would escape the device's MQTT topic
        ("frames", 0),
        ("crop_jpeg", "not base64!"),
    ],
)
def test_bad_fields_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_event(**{field: value})


def test_unknown_fields_are_refused() -> None:
    payload = json.loads(make_event().to_json())
    payload["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        PlateEvent.model_validate(payload)


def test_other_schema_versions_are_refused() -> None:
    payload = json.loads(make_event().to_json())
    payload["schema_version"] = 2
    with pytest.raises(ValidationError, match="schema_version"):
        PlateEvent.model_validate(payload)
