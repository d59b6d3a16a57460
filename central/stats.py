"""Dashboard aggregates over events: counts per time bucket, per camera, busiest and repeat plates.

Every aggregate is one SQL GROUP BY over a bounded time window, so the work is the rows in the
window (found through the captured_at index), never the whole table. Buckets are UTC hours or
days: SQLite stores timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text, so a bucket is a prefix of
it; PostgreSQL truncates with date_trunc.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, case, func, literal_column, select
from sqlalchemy.orm import Session

from central.db.models import Event

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


def _bucket_expression(bucket: Bucket, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.date_trunc(bucket.value, func.timezone("UTC", Event.captured_at))
    return func.substr(Event.captured_at, 1, 13 if bucket is Bucket.hour else 10)


def _bucket_start(value: Any, bucket: Bucket) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = str(value)
    parsed = datetime.strptime(text, "%Y-%m-%d %H" if bucket is Bucket.hour else "%Y-%m-%d")
    return parsed.replace(tzinfo=UTC)


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
        keys = [Event.site_id]
    elif group_by is GroupBy.camera:
        keys = [Event.site_id, Event.device_id, Event.channel_id]
    statement = window.where(select(start, *keys, func.count().label("events"))).group_by(start, *keys)
    out = []
    for row in session.execute(statement.order_by(start, *keys)):
        values = row._mapping
        out.append(
            TimelinePoint(
                start=_bucket_start(values["bucket"], bucket),
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


def cameras(session: Session, window: Window, low_confidence: float = 0.7) -> list[CameraStats]:
    """Per camera: how many plates it reads, how sure the reader is, how many fit a plate format."""
    hours = max((window.until - window.since).total_seconds() / 3600, 1e-9)
    valid = func.avg(case((Event.plate_valid, 1.0), else_=0.0))
    low = func.avg(case((Event.confidence < low_confidence, 1.0), else_=0.0))
    statement = window.where(
        select(
            Event.site_id,
            Event.device_id,
            Event.channel_id,
            func.count().label("events"),
            func.avg(Event.confidence).label("mean_confidence"),
            low.label("low"),
            valid.label("valid"),
            func.max(Event.captured_at).label("last"),
        )
    ).group_by(Event.site_id, Event.device_id, Event.channel_id)
    rows = session.execute(statement.order_by(Event.site_id, Event.device_id, Event.channel_id))
    return [
        CameraStats(
            site_id=row.site_id,
            device_id=row.device_id,
            channel_id=row.channel_id,
            events=int(row.events),
            events_per_hour=row.events / hours,
            mean_confidence=float(row.mean_confidence),
            low_confidence_share=float(row.low),
            valid_share=float(row.valid),
            last_event_at=_as_utc(row.last),
        )
        for row in rows
    ]


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
    events = func.count().label("events")
    camera = Event.device_id + literal_column("'/'") + Event.channel_id
    statement = (
        window.where(
            select(
                Event.plate_norm,
                func.max(Event.plate_text).label("plate_text"),
                events,
                func.count(Event.site_id.distinct()).label("sites"),
                func.count(camera.distinct()).label("cameras"),
                func.min(Event.captured_at).label("first"),
                func.max(Event.captured_at).label("last"),
            )
        )
        .group_by(Event.plate_norm)
        .having(func.count() >= min_events)
        .order_by(events.desc(), Event.plate_norm)
        .limit(limit)
    )
    return [
        PlateStats(
            plate_norm=row.plate_norm,
            plate_text=row.plate_text,
            events=int(row.events),
            sites=int(row.sites),
            cameras=int(row.cameras),
            first_seen=_as_utc(row.first),
            last_seen=_as_utc(row.last),
        )
        for row in session.execute(statement)
    ]
