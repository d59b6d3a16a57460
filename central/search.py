"""Event search: plate (exact, prefix, fuzzy), place, time; newest first, keyset-paginated.

Pages are keyed by (captured_at, event_id) of the last row, so page N costs the same as page 1
and rows arriving meanwhile neither repeat nor vanish.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from central.db.models import Event
from central.plate_keys import normalize_plate_key, one_edit_skeletons

# Greater than every character a key can hold, so [prefix, prefix + _TOP) is the prefix range.
_TOP = "\U0010ffff"
MAX_PAGE = 500


class PlateMatch(StrEnum):
    exact = "exact"
    prefix = "prefix"
    fuzzy = "fuzzy"


class SearchError(ValueError):
    """A query that cannot be run; the message says which parameter is wrong."""


@dataclass(frozen=True)
class EventQuery:
    plate: str | None = None
    match: PlateMatch = PlateMatch.exact
    site_id: str | None = None
    device_id: str | None = None
    channel_id: str | None = None
    country: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None

    def audit_detail(self) -> dict[str, Any]:
        """What was searched, for the audit log."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else str(value)
            for key, value in self.__dict__.items()
            if value is not None and key not in {"limit", "cursor"}
        }


@dataclass(frozen=True)
class SearchPage:
    events: list[Event]
    next_cursor: str | None


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything central stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encode_cursor(captured_at: datetime, event_id: uuid.UUID) -> str:
    raw = f"{as_utc(captured_at).isoformat()}|{event_id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, id_text = raw.split("|")
        return as_utc(datetime.fromisoformat(at_text)), uuid.UUID(hex=id_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SearchError("cursor is not one this server issued") from exc


def _plate_filter(statement: Select[Any], plate: str, match: PlateMatch) -> Select[Any]:
    try:
        key = normalize_plate_key(plate)
    except ValueError as exc:
        raise SearchError(str(exc)) from exc
    if not key:
        raise SearchError("plate has no letters or digits to search by")
    if match is PlateMatch.exact:
        return statement.where(Event.plate_norm == key)
    if match is PlateMatch.prefix:
        return statement.where(Event.plate_norm >= key, Event.plate_norm < key + _TOP)
    return statement.where(Event.plate_skeleton.in_(sorted(one_edit_skeletons(key))))


def build_statement(query: EventQuery) -> Select[tuple[Event]]:
    if not 1 <= query.limit <= MAX_PAGE:
        raise SearchError(f"limit must be between 1 and {MAX_PAGE}")
    statement = select(Event)
    if query.plate is not None:
        statement = _plate_filter(statement, query.plate, query.match)
    for column, value in (
        (Event.site_id, query.site_id),
        (Event.device_id, query.device_id),
        (Event.channel_id, query.channel_id),
        (Event.country, query.country),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.since is not None:
        statement = statement.where(Event.captured_at >= as_utc(query.since))
    if query.until is not None:
        statement = statement.where(Event.captured_at < as_utc(query.until))
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise SearchError("since must be before until")
    if query.cursor is not None:
        at, event_id = decode_cursor(query.cursor)
        statement = statement.where(tuple_(Event.captured_at, Event.event_id) < tuple_(at, event_id))
    return statement.order_by(Event.captured_at.desc(), Event.event_id.desc()).limit(query.limit + 1)


def search_events(session: Session, query: EventQuery) -> SearchPage:
    rows = list(session.scalars(build_statement(query)))
    if len(rows) <= query.limit:
        return SearchPage(rows, None)
    rows = rows[: query.limit]
    last = rows[-1]
    return SearchPage(rows, encode_cursor(last.captured_at, last.event_id))
