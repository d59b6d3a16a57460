"""Initial schema: events and their images, devices, channels, config pushes, dead letters, users, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PlateKey = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")
Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("captured_at", Timestamp, nullable=False),
        sa.Column("first_seen", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("plate_text", sa.String(32), nullable=False),
        sa.Column("plate_latin", sa.String(32), nullable=False),
        sa.Column("plate_norm", PlateKey, nullable=False),
        sa.Column("plate_skeleton", PlateKey, nullable=False),
        sa.Column("country", sa.String(8), nullable=True),
        sa.Column("plate_format", sa.String(64), nullable=True),
        sa.Column("region", sa.String(128), nullable=True),
        sa.Column("plate_valid", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("box_x1", sa.Integer(), nullable=False),
        sa.Column("box_y1", sa.Integer(), nullable=False),
        sa.Column("box_x2", sa.Integer(), nullable=False),
        sa.Column("box_y2", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("detector_model", sa.String(128), nullable=False),
        sa.Column("reader_model", sa.String(128), nullable=False),
        sa.Column("has_crop", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_events_captured", "events", ["captured_at", "event_id"])
    op.create_index("ix_events_plate_norm", "events", ["plate_norm", "captured_at", "event_id"])
    op.create_index("ix_events_plate_skeleton", "events", ["plate_skeleton", "captured_at", "event_id"])
    op.create_index("ix_events_site", "events", ["site_id", "captured_at", "event_id"])
    op.create_index("ix_events_device", "events", ["device_id", "channel_id", "captured_at", "event_id"])
    op.create_index("ix_events_country", "events", ["country", "captured_at", "event_id"])

    op.create_table(
        "event_images",
        sa.Column(
            "event_id",
            sa.Uuid(),
            sa.ForeignKey("events.event_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("crop_jpeg", sa.LargeBinary(), nullable=True),
        sa.Column("thumbnail_jpeg", sa.LargeBinary(), nullable=True),
    )

    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("status_at", Timestamp, nullable=True),
        sa.Column("status_detail", sa.JSON(), nullable=True),
        sa.Column("last_seen", Timestamp, nullable=True),
        sa.Column("last_event_at", Timestamp, nullable=True),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.Column("stats_at", Timestamp, nullable=True),
        sa.Column("config_version", sa.Integer(), nullable=True),
    )
    op.create_index("ix_devices_site_id", "devices", ["site_id"])

    op.create_table(
        "channels",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("channel_id", sa.String(64), primary_key=True),
        sa.Column("last_event_at", Timestamp, nullable=True),
    )

    op.create_table(
        "device_configs",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("issued_at", Timestamp, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("published_at", Timestamp, nullable=True),
        sa.Column("ack_accepted", sa.Boolean(), nullable=True),
        sa.Column("ack_outcome", sa.String(16), nullable=True),
        sa.Column("ack_reason", sa.Text(), nullable=True),
        sa.Column("ack_applied_at", Timestamp, nullable=True),
        sa.Column("ack_received_at", Timestamp, nullable=True),
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])

    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("tokens_valid_after", Timestamp, nullable=False),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("client", sa.String(64), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_username", "audit_log", ["username"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "users",
        "dead_letters",
        "device_configs",
        "channels",
        "devices",
        "event_images",
        "events",
    ):
        op.drop_table(table)
