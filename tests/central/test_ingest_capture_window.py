"""Capture times outside the window central believes are dead-lettered with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from central_factories import event_message, make_event
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.config import load_central_config
from central.db.models import DeadLetter, Event
from central.ingest.decode import CaptureWindow, EventRecord, Rejected, decode
from central.ingest.writer import IngestWriter

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "why"),
    [
        (datetime(1, 1, 1, 0, 0, 5, tzinfo=UTC), "is before 2000-01-01T00:00:00+00:00"),
        (datetime(1970, 1, 1, tzinfo=UTC), "is before 2000-01-01T00:00:00+00:00"),
        (datetime(9999, 12, 31, 23, 0, tzinfo=UTC), "is more than 1 day, 0:00:00 after receipt"),
        (NOW + timedelta(days=1, minutes=1), "is more than 1 day, 0:00:00 after receipt"),
    ],
)
def test_a_capture_time_outside_the_window_is_rejected_with_a_reason(at: datetime, why: str) -> None:
    decoded = decode(*event_message(make_event(at=at)), NOW)
    assert isinstance(decoded, Rejected) and decoded.kind == "bad_time"
    assert why in decoded.reason


def test_capture_times_inside_the_window_pass_and_the_window_is_configurable() -> None:
    inside = (datetime(2000, 1, 1, 0, 0, 2, tzinfo=UTC), NOW - timedelta(days=400), NOW + timedelta(hours=23))
    for at in inside:
        assert isinstance(decode(*event_message(make_event(at=at)), NOW), EventRecord), at
    strict = CaptureWindow(datetime(2026, 1, 1, tzinfo=UTC), timedelta(minutes=5))
    old = decode(*event_message(make_event(at=datetime(2025, 6, 1, tzinfo=UTC))), NOW, strict)
    ahead = decode(*event_message(make_event(at=NOW + timedelta(minutes=10))), NOW, strict)
    assert isinstance(old, Rejected) and isinstance(ahead, Rejected)


def test_the_window_comes_from_the_config_and_environment() -> None:
    config = load_central_config(
        env={
            "ANPR_CENTRAL_INGEST__CAPTURED_NOT_BEFORE": "2020-01-01",
            "ANPR_CENTRAL_INGEST__CAPTURED_MAX_AHEAD_S": "600",
        }
    )
    window = config.ingest.capture_window()
    assert window == CaptureWindow(datetime(2020, 1, 1, tzinfo=UTC), timedelta(minutes=10))


def test_an_event_from_year_9999_goes_to_the_dead_letters_not_the_search(engine: Engine) -> None:
    now = datetime.now(UTC)
    future = make_event(at=datetime(9999, 1, 1, tzinfo=UTC))
    result = IngestWriter(engine).write(
        [decode(*event_message(future), now), decode(*event_message(make_event()), now)]
    )
    assert len(result.stored) == 1 and [d.kind for d in result.dead] == ["bad_time"]
    with Session(engine) as session:
        assert session.scalars(select(Event.event_id)).all() == [result.stored[0]["event_id"]]
        dead = session.scalars(select(DeadLetter)).one()
        assert dead.kind == "bad_time" and "captured_at 9999-01-01" in dead.reason
