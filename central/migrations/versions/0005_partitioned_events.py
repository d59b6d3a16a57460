"""PostgreSQL: `events` partitioned by capture month, with the event-id registry `event_ids`.

On PostgreSQL the table is rebuilt as `PARTITION BY RANGE (captured_at)`: one partition for each
month that holds rows, the current month and two ahead, and a default partition. Existing rows are
copied over; the primary key becomes (event_id, captured_at), as a partitioned table requires, and
`event_ids` keeps event ids unique across months (central.db.partitions). `event_images` then
references `event_ids`. SQLite is left as it is.

Revision ID: 0005_partitioned_events
Revises: 0004_console
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

from central.db.partitions import DEFAULT_PARTITION, create_partitions, month_of, months_ahead

revision = "0005_partitioned_events"
down_revision = "0004_console"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_events_captured": "captured_at, event_id, plate_norm",
    "ix_events_plate_norm": "plate_norm, captured_at, event_id",
    "ix_events_plate_skeleton": "plate_skeleton, captured_at, event_id",
    "ix_events_site": "site_id, captured_at, event_id",
    "ix_events_device": "device_id, channel_id, captured_at, event_id",
    "ix_events_country": "country, captured_at, event_id",
}


def _images_fk() -> str | None:
    return op.get_bind().execute(
        text(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass('event_images') AND contype = 'f'"
        )
    ).scalar()


def _swap_out_events() -> None:
    """Rename the current `events` and free its index names for the new table."""
    op.execute("ALTER TABLE events RENAME TO events_before_0005")
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("ALTER TABLE events_before_0005 DROP CONSTRAINT IF EXISTS events_pkey")


def _create_indexes() -> None:
    # Built after the copy, once per partition: faster than keeping them up row by row.
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON events ({columns})")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    fk = _images_fk()
    if fk:
        op.execute(f"ALTER TABLE event_images DROP CONSTRAINT {fk}")
    _swap_out_events()
    op.execute(
        "CREATE TABLE events (LIKE events_before_0005 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (captured_at)"
    )
    months = {
        month_of(at)
        for at in bind.execute(
            text("SELECT DISTINCT date_trunc('month', captured_at, 'UTC') FROM events_before_0005")
        ).scalars()
    }
    create_partitions(bind, months | set(months_ahead(datetime.now(UTC))))
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF events DEFAULT")
    op.execute("INSERT INTO events SELECT * FROM events_before_0005")
    op.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (event_id, captured_at)")
    _create_indexes()
    op.execute(
        "CREATE TABLE event_ids (event_id uuid PRIMARY KEY, captured_at timestamp with time zone NOT NULL)"
    )
    op.execute("INSERT INTO event_ids SELECT event_id, captured_at FROM events_before_0005")
    op.execute("CREATE INDEX ix_event_ids_captured_at ON event_ids (captured_at)")
    op.execute("DROP TABLE events_before_0005")
    op.execute(
        "ALTER TABLE event_images ADD CONSTRAINT event_images_event_id_fkey FOREIGN KEY (event_id) "
        "REFERENCES event_ids (event_id) ON DELETE CASCADE"
    )
    op.execute("ANALYZE events")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    fk = _images_fk()
    if fk:
        op.execute(f"ALTER TABLE event_images DROP CONSTRAINT {fk}")
    _swap_out_events()
    op.execute("CREATE TABLE events (LIKE events_before_0005 INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    op.execute("INSERT INTO events SELECT * FROM events_before_0005")
    op.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (event_id)")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON events ({columns})")
    op.execute("DROP TABLE events_before_0005")  # its partitions go with it
    op.execute("DROP TABLE event_ids")
    op.execute(
        "ALTER TABLE event_images ADD CONSTRAINT event_images_event_id_fkey FOREIGN KEY (event_id) "
        "REFERENCES events (event_id) ON DELETE CASCADE"
    )
