"""Hourly event counts per camera (`event_hourly`), kept by ingest in the same transaction as the
events, so the dashboard's charts and camera figures read O(hours x cameras) rows, not events.

`add_events` folds newly stored event rows in (an upsert that adds, safe under concurrent
writers: keys are sorted, so rows lock in one order); `rebuild` recomputes the table from
`events` (the migration's backfill, and after a bulk load that bypassed ingest).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from central.db.models import Event, EventHourly

# A read below this confidence counts as unsure on the dashboard.
LOW_CONFIDENCE = 0.7
KEY = ("hour", "site_id", "device_id", "channel_id")


def hour_of(at: datetime) -> datetime:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def _later(column: Any, value: Any) -> Any:
    return case((value > column, value), else_=column)


def add_events(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Count newly stored events (their `events` table rows) into their hours."""
    buckets: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (hour_of(row["captured_at"]), row["site_id"], row["device_id"], row["channel_id"])
        bucket = buckets.setdefault(
            key,
            {**dict(zip(KEY, key, strict=True)), "events": 0, "confidence_sum": 0.0, "low_confidence": 0,
             "valid": 0, "last_event_at": row["captured_at"]},
        )  # fmt: skip
        bucket["events"] += 1
        bucket["confidence_sum"] += float(row["confidence"])
        bucket["low_confidence"] += row["confidence"] < LOW_CONFIDENCE
        bucket["valid"] += bool(row["plate_valid"])
        bucket["last_event_at"] = max(bucket["last_event_at"], row["captured_at"])
    if not buckets:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(EventHourly)
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={
            "events": EventHourly.events + new.events,
            "confidence_sum": EventHourly.confidence_sum + new.confidence_sum,
            "low_confidence": EventHourly.low_confidence + new.low_confidence,
            "valid": EventHourly.valid + new.valid,
            "last_event_at": _later(EventHourly.last_event_at, new.last_event_at),
        },
    )
    session.execute(statement, [buckets[key] for key in sorted(buckets)])


def hour_expression(dialect: str) -> Any:
    """SQL for the UTC hour an event falls in, stored the way the ORM stores timestamps."""
    if dialect == "postgresql":
        return func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", Event.captured_at)))
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text; the hour is its first 13 characters.
    return func.substr(Event.captured_at, 1, 13).concat(literal_column("':00:00.000000'"))


def rebuild(connection: Connection) -> int:
    """Recompute every hour from `events`; returns the number of hour rows."""
    hour = hour_expression(connection.dialect.name).label("hour")
    summary = select(
        hour,
        Event.site_id,
        Event.device_id,
        Event.channel_id,
        func.count().label("events"),
        func.coalesce(func.sum(Event.confidence), 0.0).label("confidence_sum"),
        func.sum(case((Event.confidence < LOW_CONFIDENCE, 1), else_=0)).label("low_confidence"),
        func.sum(case((Event.plate_valid, 1), else_=0)).label("valid"),
        func.max(Event.captured_at).label("last_event_at"),
    ).group_by(hour, Event.site_id, Event.device_id, Event.channel_id)
    connection.execute(delete(EventHourly))
    columns = [*KEY, "events", "confidence_sum", "low_confidence", "valid", "last_event_at"]
    connection.execute(insert(EventHourly).from_select(columns, summary))
    return int(connection.scalar(select(func.count()).select_from(EventHourly)) or 0)
