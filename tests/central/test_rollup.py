"""The hourly counts ingest keeps for the dashboard: exact, once per event, equal to a rebuild
from the events, and filled by the migration from events stored before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central_factories import event_message, make_event
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.migrate import downgrade, upgrade
from central.db.models import EventHourly
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from central.rollup import rebuild

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def _hours(engine: Engine) -> list[tuple[str, str, str, int, float, int, int, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(EventHourly).order_by(EventHourly.hour, EventHourly.channel_id))
        return [
            (
                r.hour.replace(tzinfo=UTC).astimezone(UTC).isoformat()[:13],
                r.device_id,
                r.channel_id,
                r.events,
                round(r.confidence_sum, 6),
                r.low_confidence,
                r.valid,
                r.last_event_at.replace(tzinfo=UTC).astimezone(UTC).isoformat()[:19],
            )
            for r in rows
        ]


def _events() -> list:  # type: ignore[type-arg]
    return [
        make_event("А123ВС77", channel="cam1", at=T0 + timedelta(minutes=5), confidence=0.9),
        make_event("В456ОР99", channel="cam1", at=T0 + timedelta(minutes=59, seconds=59), confidence=0.5),
        make_event("А123ВС77", channel="cam2", at=T0 + timedelta(minutes=10), confidence=0.8),
        make_event("А123ВС77", channel="cam1", at=T0 + timedelta(hours=1), confidence=0.95),
    ]


EXPECTED = [
    ("2026-11-01T08", "edge1", "cam1", 2, 1.4, 1, 2, "2026-11-01T08:59:59"),
    ("2026-11-01T08", "edge1", "cam2", 1, 0.8, 0, 1, "2026-11-01T08:10:00"),
    ("2026-11-01T09", "edge1", "cam1", 1, 0.95, 0, 1, "2026-11-01T09:00:00"),
]


def test_ingest_counts_each_event_once_in_its_hour(engine: Engine) -> None:
    events = _events()
    writer = IngestWriter(engine)
    writer.write([decode(*event_message(e), T0) for e in events[:2]])
    # The rest in a second batch, with the first event redelivered: it must not count twice.
    writer.write([decode(*event_message(e), T0) for e in [events[0], *events[2:]]])
    assert _hours(engine) == EXPECTED
    # A rebuild from the events gives the same table.
    with engine.begin() as connection:
        assert rebuild(connection) == 3
    assert _hours(engine) == EXPECTED


def test_the_migration_fills_the_hours_of_events_already_stored(engine: Engine) -> None:
    IngestWriter(engine).write([decode(*event_message(e), T0) for e in _events()])
    downgrade(engine, "0001")  # as before the console: events, no hourly table
    upgrade(engine)
    assert _hours(engine) == EXPECTED
