"""Dashboard aggregates: counts per time bucket, per camera, busiest and repeat plates.

Counts over time and per camera read the hourly table ingest keeps (central.rollup): a window
costs hours x cameras rows, whatever the traffic, and covers whole UTC hours (an hour counts when
it starts in [since rounded down to the hour, until)). Plates need the events themselves: one
GROUP BY over the window, found through the captured_at index. Buckets are UTC hours or days:
SQLite stores timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text, so a day is a prefix of it;
PostgreSQL truncates with date_trunc.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from central.db.models import Event, EventHourly
from central.rollup import hour_of

MAX_WINDOW = timedelta(days=366)
MAX_HOURLY_WINDOW = timedelta(days=31)
MAX_ROWS = 500


class Bucket(StrEnum):
    hour = "hour"
    day = "day"


class GroupBy(StrEnum):
    total = "total"
    site = "site"
    camera = "camera"


class StatsError(ValueError):
    """A window or limit the dashboard cannot aggregate; the message says which."""


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    site_id: str | None = None

    @classmethod
    def checked(
        cls, since: datetime | None, until: datetime | None, default: timedelta, site_id: str | None = None
    ) -> Window:
        end = (until or datetime.now(UTC)).astimezone(UTC)
        start = (since or end - default).astimezone(UTC)
        if start >= end:
            raise StatsError("since must be before until")
        if end - start > MAX_WINDOW:
            raise StatsError(f"the window may span at most {MAX_WINDOW.days} days")
        return cls(start, end, site_id)

    def where(self, statement: Select[Any]) -> Select[Any]:
        statement = statement.where(Event.captured_at >= self.since, Event.captured_at < self.until)
        return statement if self.site_id is None else statement.where(Event.site_id == self.site_id)

    def where_hours(self, statement: Select[Any]) -> Select[Any]:
        statement = statement.where(EventHourly.hour >= hour_of(self.since), EventHourly.hour < self.until)
        return statement if self.site_id is None else statement.where(EventHourly.site_id == self.site_id)

    @property
    def hours(self) -> float:
        """The hours the hourly table covers for this window (whole hours, see the module doc)."""
        return max((self.until - hour_of(self.since)).total_seconds() / 3600, 1e-9)


def _bucket_expression(bucket: Bucket, dialect: str) -> Any:
    if bucket is Bucket.hour:
        return EventHourly.hour
    if dialect == "postgresql":
        return func.date_trunc("day", func.timezone("UTC", EventHourly.hour))
    return func.substr(EventHourly.hour, 1, 10)


def _bucket_start(value: Any) -> datetime:
    if isinstance(value, str):  # a SQLite day prefix, or a stored timestamp
        value = datetime.fromisoformat(value) if len(value) > 10 else datetime.strptime(value, "%Y-%m-%d")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class TimelinePoint:
    start: datetime
    site_id: str | None
    device_id: str | None
    channel_id: str | None
    events: int


def timeline(session: Session, window: Window, bucket: Bucket, group_by: GroupBy) -> list[TimelinePoint]:
    """Events per bucket, split by site or camera (device + channel), oldest bucket first."""
    if bucket is Bucket.hour and window.until - window.since > MAX_HOURLY_WINDOW:
        raise StatsError(f"hourly buckets cover at most {MAX_HOURLY_WINDOW.days} days; use day")
    start = _bucket_expression(bucket, session.get_bind().dialect.name).label("bucket")
    keys: list[Any] = []
    if group_by is GroupBy.site:
        keys = [EventHourly.site_id]
    elif group_by is GroupBy.camera:
        keys = [EventHourly.site_id, EventHourly.device_id, EventHourly.channel_id]
    events = func.sum(EventHourly.events).label("events")
    statement = window.where_hours(select(start, *keys, events)).group_by(start, *keys)
    out = []
    for row in session.execute(statement.order_by(start, *keys)):
        values = row._mapping
        out.append(
            TimelinePoint(
                start=_bucket_start(values["bucket"]),
                site_id=values.get("site_id"),
                device_id=values.get("device_id"),
                channel_id=values.get("channel_id"),
                events=int(values["events"]),
            )
        )
    return out


@dataclass(frozen=True)
class CameraStats:
    site_id: str
    device_id: str
    channel_id: str
    events: int
    events_per_hour: float
    mean_confidence: float
    low_confidence_share: float
    valid_share: float
    last_event_at: datetime


def cameras(session: Session, window: Window) -> list[CameraStats]:
    """Per camera: how many plates it reads, how sure the reader is, how many fit a plate format.
    A read below central.rollup.LOW_CONFIDENCE counts as unsure."""
    events = func.sum(EventHourly.events)
    statement = window.where_hours(
        select(
            EventHourly.site_id,
            EventHourly.device_id,
            EventHourly.channel_id,
            events.label("events"),
            func.sum(EventHourly.confidence_sum).label("confidence_sum"),
            func.sum(EventHourly.low_confidence).label("low"),
            func.sum(EventHourly.valid).label("valid"),
            func.max(EventHourly.last_event_at).label("last"),
        )
    ).group_by(EventHourly.site_id, EventHourly.device_id, EventHourly.channel_id)
    order = (EventHourly.site_id, EventHourly.device_id, EventHourly.channel_id)
    out = []
    for row in session.execute(statement.order_by(*order)):
        count = int(row.events)
        out.append(
            CameraStats(
                site_id=row.site_id,
                device_id=row.device_id,
                channel_id=row.channel_id,
                events=count,
                events_per_hour=count / window.hours,
                mean_confidence=float(row.confidence_sum) / count,
                low_confidence_share=int(row.low) / count,
                valid_share=int(row.valid) / count,
                last_event_at=_as_utc(row.last),
            )
        )
    return out


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite's max() over a DateTime column hands back the stored text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class PlateStats:
    plate_norm: str
    plate_text: str
    events: int
    sites: int
    cameras: int
    first_seen: datetime
    last_seen: datetime


def plates(session: Session, window: Window, min_events: int = 1, limit: int = 20) -> list[PlateStats]:
    """The plates seen most often in the window; with min_events > 1, the repeat visitors."""
    if not 1 <= limit <= MAX_ROWS:
        raise StatsError(f"limit must be between 1 and {MAX_ROWS}")
    if min_events < 1:
        raise StatsError("min_events must be at least 1")
    # First the counts alone: the window's (captured_at, plate_norm) pairs are all in the
    # ix_events_captured index, so this reads no table rows.
    events = func.count().label("events")
    busiest = (
        window.where(select(Event.plate_norm, events))
        .group_by(Event.plate_norm)
        .having(func.count() >= min_events)
        .order_by(events.desc(), Event.plate_norm)
        .limit(limit)
    )
    counts = {row.plate_norm: int(row.events) for row in session.execute(busiest)}
    if not counts:
        return []
    # Then the details of those few plates, through the plate_norm index.
    camera = Event.device_id + literal_column("'/'") + Event.channel_id
    details = window.where(
        select(
            Event.plate_norm,
            func.max(Event.plate_text).label("plate_text"),
            func.count(Event.site_id.distinct()).label("sites"),
            func.count(camera.distinct()).label("cameras"),
            func.min(Event.captured_at).label("first"),
            func.max(Event.captured_at).label("last"),
        ).where(Event.plate_norm.in_(list(counts)))
    ).group_by(Event.plate_norm)
    found = {row.plate_norm: row for row in session.execute(details)}
    return [
        PlateStats(
            plate_norm=plate,
            plate_text=found[plate].plate_text,
            events=count,
            sites=int(found[plate].sites),
            cameras=int(found[plate].cameras),
            first_seen=_as_utc(found[plate].first),
            last_seen=_as_utc(found[plate].last),
        )
        for plate, count in counts.items()
    ]
