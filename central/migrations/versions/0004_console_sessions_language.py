"""Console: each user's UI language, revoked session tokens (logout, refresh), and hourly event
counts per camera for the dashboard (filled from the events already stored).

Revision ID: 0004_console
Revises: 0003_watchlists_gates
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_console"
down_revision = "0003_watchlists_gates"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(8), nullable=True))
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_table(
        "event_hourly",
        sa.Column("hour", Timestamp, primary_key=True),
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("channel_id", sa.String(64), primary_key=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("confidence_sum", sa.Float(), nullable=False),
        sa.Column("low_confidence", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("last_event_at", Timestamp, nullable=False),
    )
    _backfill_hourly()
    # The time index also carries plate_norm: busiest plates in a window are counted from it alone.
    op.drop_index("ix_events_captured", table_name="events")
    op.create_index("ix_events_captured", "events", ["captured_at", "event_id", "plate_norm"])


def _backfill_hourly() -> None:
    """The hours of the events already stored (the same sums as central.rollup.rebuild, written out
    here so later model changes cannot change what this migration did)."""
    if op.get_bind().dialect.name == "postgresql":
        hour = "timezone('UTC', date_trunc('hour', timezone('UTC', captured_at)))"
    else:
        hour = "substr(captured_at, 1, 13) || ':00:00.000000'"
    op.execute(
        "INSERT INTO event_hourly (hour, site_id, device_id, channel_id, events, confidence_sum, "
        "low_confidence, valid, last_event_at) "
        f"SELECT {hour} AS hour, site_id, device_id, channel_id, count(*), coalesce(sum(confidence), 0), "
        "sum(CASE WHEN confidence < 0.7 THEN 1 ELSE 0 END), sum(CASE WHEN plate_valid THEN 1 ELSE 0 END), "
        "max(captured_at) FROM events GROUP BY 1, site_id, device_id, channel_id"
    )


def downgrade() -> None:
    op.drop_index("ix_events_captured", table_name="events")
    op.create_index("ix_events_captured", "events", ["captured_at", "event_id"])
    op.drop_table("event_hourly")
    op.drop_index("ix_revoked_tokens_expires_at", table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_column("users", "language")
