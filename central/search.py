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

from sqlalchemy import Select, String, bindparam, func, select, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from central.db.models import Event
from common.plates.normalize import normalize_plate
from common.plates.search import one_edit_fuzzy_keys

# Greater than every character a key can hold, so [prefix, prefix + _TOP) is the prefix range.
_TOP = "\U0010ffff"
MAX_PAGE = 500
COUNT_CAP = 10_000


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


def _plate_key(plate: str) -> str:
    try:
        key = normalize_plate(plate)
    except ValueError as exc:
        raise SearchError(str(exc)) from exc
    if not key:
        raise SearchError("plate has no letters or digits to search by")
    return key


def _source(query: EventQuery, dialect: str) -> tuple[Any, Select[Any]]:
    """The entity to filter (Event, or the fuzzy matches) and the statement selecting it."""
    if query.plate is None:
        return Event, select(Event)
    key = _plate_key(query.plate)
    if query.match is PlateMatch.exact:
        return Event, select(Event).where(Event.plate_norm == key)
    if query.match is PlateMatch.prefix:
        return Event, select(Event).where(Event.plate_norm >= key, Event.plate_norm < key + _TOP)
    candidates = sorted(one_edit_fuzzy_keys(key))
    if dialect != "postgresql":
        return Event, select(Event).where(Event.plate_skeleton.in_(candidates))
    # PostgreSQL overestimates ~500 candidates and walks the time index backwards through the whole
    # table hoping to meet them; a materialized CTE makes it look the candidates up first. A join
    # with the unnested candidates (rather than `= ANY`) is one index probe per candidate and
    # partition: with `= ANY` it would read small monthly partitions whole instead.
    array = bindparam("skeletons", candidates, type_=postgresql.ARRAY(String()))
    keys = func.unnest(array).table_valued("skeleton").render_derived(name="candidates")
    matches = select(Event).join(keys, Event.plate_skeleton == keys.c.skeleton).cte("fuzzy_matches")
    matches = matches.prefix_with("MATERIALIZED")
    entity = aliased(Event, matches)
    return entity, select(entity)


def _filtered(query: EventQuery, dialect: str) -> tuple[Any, Select[Any]]:
    """The entity and the statement with every filter but the page cursor."""
    entity, statement = _source(query, dialect)
    for column, value in (
        (entity.site_id, query.site_id),
        (entity.device_id, query.device_id),
        (entity.channel_id, query.channel_id),
        (entity.country, query.country),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.since is not None:
        statement = statement.where(entity.captured_at >= as_utc(query.since))
    if query.until is not None:
        statement = statement.where(entity.captured_at < as_utc(query.until))
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise SearchError("since must be before until")
    return entity, statement


def build_statement(query: EventQuery, dialect: str = "sqlite") -> Select[tuple[Event]]:
    if not 1 <= query.limit <= MAX_PAGE:
        raise SearchError(f"limit must be between 1 and {MAX_PAGE}")
    entity, statement = _filtered(query, dialect)
    if query.cursor is not None:
        at, event_id = decode_cursor(query.cursor)
        statement = statement.where(tuple_(entity.captured_at, entity.event_id) < tuple_(at, event_id))
    return statement.order_by(entity.captured_at.desc(), entity.event_id.desc()).limit(query.limit + 1)


def count_events(session: Session, query: EventQuery, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many events match (cursor ignored), counting at most `cap`: (count, capped).

    Bounded so a count over a million rows costs what reading `cap` index entries costs.
    """
    entity, statement = _filtered(query, session.get_bind().dialect.name)
    matched = statement.with_only_columns(entity.event_id).limit(cap + 1).subquery()
    found = session.scalar(select(func.count()).select_from(matched)) or 0
    return min(found, cap), found > cap


def search_events(session: Session, query: EventQuery) -> SearchPage:
    rows = list(session.scalars(build_statement(query, session.get_bind().dialect.name)))
    if len(rows) <= query.limit:
        return SearchPage(rows, None)
    rows = rows[: query.limit]
    last = rows[-1]
    return SearchPage(rows, encode_cursor(last.captured_at, last.event_id))
