"""Watchlists, their entries and site/gate assignments, site time zones, watchlist pushes, gate decisions.

Revision ID: 0003_watchlists_gates
Revises: 0002_effective_config
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_watchlists_gates"
down_revision = "0002_effective_config"
branch_labels = None
depends_on = None

PlateKey = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")
Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("timezone", sa.String(64), nullable=False),
    )
    op.create_table(
        "watchlists",
        sa.Column("list_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "watchlist_entries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "list_id", sa.String(64), sa.ForeignKey("watchlists.list_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("plate", PlateKey, nullable=False),
        sa.Column("match", sa.String(8), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("weekdays", sa.String(16), nullable=False),
        sa.Column("hours", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_watchlist_entries_list", "watchlist_entries", ["list_id", "plate"])
    op.create_table(
        "watchlist_assignments",
        sa.Column(
            "list_id",
            sa.String(64),
            sa.ForeignKey("watchlists.list_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("gate_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "watchlist_pushes",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("bundle", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("issued_at", Timestamp, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("published_at", Timestamp, nullable=True),
        sa.Column("ack_outcome", sa.String(16), nullable=True),
        sa.Column("ack_reason", sa.Text(), nullable=True),
        sa.Column("ack_running_version", sa.Integer(), nullable=True),
        sa.Column("ack_received_at", Timestamp, nullable=True),
    )
    op.create_table(
        "gate_decisions",
        sa.Column("decision_id", sa.Uuid(), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("captured_at", Timestamp, nullable=False),
        sa.Column("decided_at", Timestamp, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("plate_text", sa.String(32), nullable=True),
        sa.Column("plate_latin", sa.String(32), nullable=True),
        sa.Column("plate_norm", PlateKey, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("outputs_ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("watchlist_version", sa.Integer(), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("crop_jpeg", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_gate_decisions_site", "gate_decisions", ["site_id", "decided_at", "decision_id"])
    op.create_index("ix_gate_decisions_plate", "gate_decisions", ["plate_norm", "decided_at"])


def downgrade() -> None:
    op.drop_index("ix_gate_decisions_plate", "gate_decisions")
    op.drop_index("ix_gate_decisions_site", "gate_decisions")
    op.drop_table("gate_decisions")
    op.drop_table("watchlist_pushes")
    op.drop_table("watchlist_assignments")
    op.drop_index("ix_watchlist_entries_list", "watchlist_entries")
    op.drop_table("watchlist_entries")
    op.drop_table("watchlists")
    op.drop_table("sites")
