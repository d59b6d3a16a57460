"""PostgreSQL's monthly partitions of `events`: the migration carries rows over, ingest makes the
partition a month needs, and retention drops whole expired months (SQLite keeps one table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from central_factories import event_message, make_event
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from central.config import RetentionSettings, SiteRetention
from central.db.migrate import downgrade, upgrade
from central.db.models import Event, EventImage
from central.db.partitions import (
    DEFAULT_PARTITION,
    event_ids,
    is_partitioned,
    month_of,
    monthly_partitions,
    months_ahead,
    partition_name,
)
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from central.retention import Retention
from common.events import PlateEvent

NOW = datetime.now(UTC)


def _write(engine: Engine, *events: PlateEvent) -> None:
    result = IngestWriter(engine).write([decode(*event_message(e), NOW) for e in events])
    assert len(result.stored) == len(events) and not result.dead


def _partition_of(engine: Engine, event_id: object) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT tableoid::regclass::text FROM events WHERE event_id = :id"), {"id": event_id}
            ).scalar_one()
        )


def _ids(engine: Engine) -> set[object]:
    with engine.connect() as connection:
        return set(connection.execute(select(event_ids.c.event_id)).scalars())


def test_sqlite_keeps_one_plain_table(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert not is_partitioned(connection)


@pytest.mark.postgres
def test_the_migration_moves_stored_events_into_monthly_partitions(postgres_engine: Engine) -> None:
    downgrade(postgres_engine, "0004_console")
    old, recent = make_event(at=datetime(2025, 3, 9, 8, tzinfo=UTC)), make_event(at=NOW - timedelta(days=1))
    with postgres_engine.connect() as connection:
        assert not is_partitioned(connection)
    records = [decode(*event_message(e), NOW) for e in (old, recent)]
    with postgres_engine.begin() as connection:  # rows as a central before 0005 stored them
        connection.execute(Event.__table__.insert(), [r.row for r in records])  # type: ignore[union-attr]
        connection.execute(
            EventImage.__table__.insert(),
            [{"event_id": r.row["event_id"], "crop_jpeg": r.crop_jpeg} for r in records],  # type: ignore[union-attr]
        )
    upgrade(postgres_engine)
    with postgres_engine.connect() as connection:
        assert is_partitioned(connection)
        months = monthly_partitions(connection)
    assert {month_of(old.captured_at), *months_ahead(NOW)} <= set(months)
    assert _partition_of(postgres_engine, old.event_id) == partition_name(month_of(old.captured_at))
    assert _partition_of(postgres_engine, recent.event_id) == partition_name(month_of(recent.captured_at))
    assert _ids(postgres_engine) == {old.event_id, recent.event_id}
    with Session(postgres_engine) as session:
        assert session.get(EventImage, old.event_id) is not None  # images stay, keyed to the registry


@pytest.mark.postgres
def test_ingest_creates_the_partition_of_a_month_that_has_none(postgres_engine: Engine) -> None:
    long_ago = make_event(at=datetime(2019, 6, 15, tzinfo=UTC))
    _write(postgres_engine, long_ago)
    assert _partition_of(postgres_engine, long_ago.event_id) == "events_p201906"


@pytest.mark.postgres
def test_a_month_whose_rows_are_in_the_default_partition_stays_there(
    postgres_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # A writer that believes the month covered (as after a failed creation) stores into the default.
    first = make_event(at=datetime(2019, 6, 16, tzinfo=UTC))
    writer = IngestWriter(postgres_engine)
    writer._months.add(month_of(first.captured_at))
    assert len(writer.write([decode(*event_message(first), NOW)]).stored) == 1
    assert _partition_of(postgres_engine, first.event_id) == DEFAULT_PARTITION
    # PostgreSQL refuses a partition whose range the default already holds rows of: logged, and
    # the month's events keep going to the default partition, searchable as any.
    second = make_event(at=datetime(2019, 6, 17, tzinfo=UTC))
    with caplog.at_level("WARNING", logger="central.db.partitions"):
        _write(postgres_engine, second)
    assert _partition_of(postgres_engine, second.event_id) == DEFAULT_PARTITION
    assert "events_p201906" in caplog.text


@pytest.mark.postgres
def test_retention_drops_a_month_expired_for_every_site_and_keeps_recent_rows(
    postgres_engine: Engine,
) -> None:
    old = [make_event(site=site, at=NOW - timedelta(days=200)) for site in ("north", "gate", "gate")]
    recent = [make_event(site="north", at=NOW - timedelta(days=10)), make_event(site="gate", at=NOW)]
    _write(postgres_engine, *old, *recent)
    old_month = partition_name(month_of(old[0].captured_at))
    settings = RetentionSettings(
        events_days=90, images_days=None, sites={"gate": SiteRetention(events_days=30)}, batch_size=2
    )
    deleted = Retention(postgres_engine, settings).run_once(NOW)
    assert deleted["events"] == 3
    with postgres_engine.connect() as connection:
        months = monthly_partitions(connection)
    assert old_month not in months.values()
    assert set(months_ahead(NOW)) <= set(months)  # the maintenance made the months ahead
    with Session(postgres_engine) as session:
        assert set(session.scalars(select(Event.event_id))) == {e.event_id for e in recent}
        assert set(session.scalars(select(EventImage.event_id))) == {e.event_id for e in recent}
    assert _ids(postgres_engine) == {e.event_id for e in recent}


@pytest.mark.postgres
def test_a_site_that_keeps_a_month_longer_keeps_the_partition_and_others_lose_their_rows(
    postgres_engine: Engine,
) -> None:
    north, gate = make_event(site="north", at=NOW - timedelta(days=200)), make_event(
        site="gate", at=NOW - timedelta(days=200)
    )
    _write(postgres_engine, north, gate)
    settings = RetentionSettings(
        events_days=90, images_days=None, sites={"gate": SiteRetention(events_days=400)}, batch_size=2
    )
    assert Retention(postgres_engine, settings).run_once(NOW)["events"] == 1
    with postgres_engine.connect() as connection:
        assert partition_name(month_of(gate.captured_at)) in monthly_partitions(connection).values()
    with Session(postgres_engine) as session:
        assert list(session.scalars(select(Event.event_id))) == [gate.event_id]
        assert session.scalar(select(func.count()).select_from(EventImage)) == 1
    assert _ids(postgres_engine) == {gate.event_id}


@pytest.mark.postgres
def test_a_resent_event_after_its_month_was_dropped_is_not_refused(postgres_engine: Engine) -> None:
    event = make_event(at=NOW - timedelta(days=200))
    _write(postgres_engine, event)
    Retention(postgres_engine, RetentionSettings(events_days=90, images_days=None)).run_once(NOW)
    # Past retention it is stored again, as on SQLite (the edge no longer has it in practice).
    _write(postgres_engine, event)
