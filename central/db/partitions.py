"""Monthly partitions of `events` on PostgreSQL (migration 0005); SQLite keeps one plain table.

`events` is RANGE-partitioned by `captured_at`: one partition per UTC month, named
`events_pYYYYMM`, and `events_default` for rows no monthly partition takes. Retention then drops a
whole month (`DROP TABLE`) instead of deleting its rows one by one.

A unique constraint on a partitioned table must include the partition key, so `events` alone
cannot keep an event id unique across months (a re-send with another capture time would be a
second row). `event_ids` (event id -> capture time, one narrow row per event) is the registry that
does: ingest claims the id there first (`ON CONFLICT DO NOTHING`), and only claimed ids go into
`events`. `event_images` references `event_ids`, so images go when their id does.

Partitions are created ahead by the maintenance pass (central.retention) and on demand by ingest
when a batch needs a month that has none. Creating one takes a short exclusive lock on `events`;
a `lock_timeout` bounds the wait, and rows of a month whose partition could not be made land in
`events_default` (searchable, and deleted row by row by retention).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, Connection, DateTime, MetaData, Table, Uuid, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

EVENTS = "events"
DEFAULT_PARTITION = "events_default"
MONTHS_AHEAD = 2  # the current month and this many after it always have a partition
LOCK_TIMEOUT = "10s"  # DDL on `events` waits at most this long behind running queries
_PARTITION_NAME = re.compile(r"^events_p(\d{4})(\d{2})$")
# Any fixed key: partition DDL of concurrent writers and replicas goes one at a time.
_DDL_LOCK_KEY = 0x616E7072_70617274  # "anprpart"

# PostgreSQL only, so not in the models' metadata (SQLite has no such table).
event_ids = Table(
    "event_ids",
    MetaData(),
    Column("event_id", Uuid, primary_key=True),
    Column("captured_at", DateTime(timezone=True), nullable=False, index=True),
)


def month_of(at: datetime) -> date:
    """The first day of `at`'s month in UTC (naive datetimes are taken as UTC, as SQLite gives them)."""
    utc = at.astimezone(UTC) if at.tzinfo else at
    return date(utc.year, utc.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def partition_name(month: date) -> str:
    return f"events_p{month.year:04d}{month.month:02d}"


def is_partitioned(connection: Connection) -> bool:
    """True on PostgreSQL once migration 0005 made `events` a partitioned table."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('events')")).scalar()
    return kind == "p"


def monthly_partitions(connection: Connection) -> dict[date, str]:
    """The monthly partitions of `events` in the current schema, by month."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('events')"
        )
    ).scalars()
    found: dict[date, str] = {}
    for name in names:
        match = _PARTITION_NAME.match(name)
        if match:
            found[date(int(match[1]), int(match[2]), 1)] = name
    return found


def _bounds(month: date) -> str:
    start, end = month_start(month), month_start(add_months(month, 1))
    return f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"


def create_partitions(connection: Connection, months: Iterable[date]) -> list[date]:
    """Create the missing monthly partitions among `months`; returns those now present.

    A month whose rows already sit in the default partition cannot get its own (PostgreSQL refuses
    the new bound); it is logged and left to the default partition. Runs in the caller's
    transaction, which should be short: the partition DDL holds its lock until commit.
    """
    wanted = sorted(set(months))
    if not wanted:
        return []
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK_KEY})
    existing = monthly_partitions(connection)
    present = [month for month in wanted if month in existing]
    for month in wanted:
        if month in existing:
            continue
        name = partition_name(month)
        try:
            with connection.begin_nested():
                bounds = _bounds(month)
                connection.execute(text(f"CREATE TABLE {name} PARTITION OF {EVENTS} FOR VALUES {bounds}"))
        except DBAPIError as exc:
            log.warning("cannot create partition %s (rows go to %s): %s", name, DEFAULT_PARTITION, exc.orig)
            continue
        log.info("created partition %s", name)
        present.append(month)
    return sorted(present)


def months_ahead(now: datetime, count: int = MONTHS_AHEAD) -> list[date]:
    current = month_of(now)
    return [add_months(current, step) for step in range(count + 1)]


def drop_partition(connection: Connection, name: str) -> int:
    """Drop one monthly partition; returns how many rows it held."""
    if not _PARTITION_NAME.match(name):
        raise ValueError(f"{name!r} is not a monthly partition of {EVENTS}")
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    rows = int(connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
    connection.execute(text(f"DROP TABLE {name}"))
    return rows


def _ours(table_name: str | None) -> bool:
    return table_name in (event_ids.name, DEFAULT_PARTITION) or bool(
        table_name and _PARTITION_NAME.match(table_name)
    )


def include_in_autogenerate(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic filter: what migration 0005 adds on PostgreSQL is not in the models' metadata (the
    id registry, the partitions and their indexes, the images' key to the registry)."""
    if type_ == "table":
        return not (reflected and compare_to is None and _ours(name))
    table = getattr(obj, "table", None)
    if table is not None and _ours(table.name):
        return False
    return not (type_ == "foreign_key_constraint" and table is not None and table.name == "event_images")
