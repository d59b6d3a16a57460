"""Tables of the central database.

Plates are searched through two derived columns: `plate_norm` (glyph-Latin, no separators) for
exact and prefix matches, and `plate_skeleton` (OCR homoglyphs folded) for fuzzy matches. Both
use a binary collation on PostgreSQL so prefix ranges use the index. Crops live in their own
table so scans of `events` stay narrow.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Binary ordering so `col >= 'AB' AND col < 'AB\U0010ffff'` is an index range on PostgreSQL too.
PlateKey = String(32).with_variant(String(32, collation="C"), "postgresql")
Timestamp = DateTime(timezone=True)
# SQLite only auto-increments INTEGER PRIMARY KEY, not BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Event(Base):
    """A stored plate event. On PostgreSQL the table is partitioned by capture month (migration
    0005, central.db.partitions): its key there is (event_id, captured_at), and the `event_ids`
    registry keeps the id unique."""

    __tablename__ = "events"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(Timestamp)
    first_seen: Mapped[datetime] = mapped_column(Timestamp)
    last_seen: Mapped[datetime] = mapped_column(Timestamp)
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    plate_text: Mapped[str] = mapped_column(String(32))
    plate_latin: Mapped[str] = mapped_column(String(32))
    plate_norm: Mapped[str] = mapped_column(PlateKey)
    plate_skeleton: Mapped[str] = mapped_column(PlateKey)
    country: Mapped[str | None] = mapped_column(String(8))
    plate_format: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(128))
    plate_valid: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    box_x1: Mapped[int] = mapped_column(Integer)
    box_y1: Mapped[int] = mapped_column(Integer)
    box_x2: Mapped[int] = mapped_column(Integer)
    box_y2: Mapped[int] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer)
    detector_model: Mapped[str] = mapped_column(String(128))
    reader_model: Mapped[str] = mapped_column(String(128))
    has_crop: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        # plate_norm rides along so the dashboard's busiest plates are counted from the index alone.
        Index("ix_events_captured", "captured_at", "event_id", "plate_norm"),
        Index("ix_events_plate_norm", "plate_norm", "captured_at", "event_id"),
        Index("ix_events_plate_skeleton", "plate_skeleton", "captured_at", "event_id"),
        Index("ix_events_site", "site_id", "captured_at", "event_id"),
        Index("ix_events_device", "device_id", "channel_id", "captured_at", "event_id"),
        Index("ix_events_country", "country", "captured_at", "event_id"),
    )


class EventHourly(Base):
    """Events per UTC hour and camera, kept by ingest (central.rollup) for the dashboard: its charts
    read a few rows per camera and hour instead of every event. Holds no plates."""

    __tablename__ = "event_hourly"

    hour: Mapped[datetime] = mapped_column(Timestamp, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    confidence_sum: Mapped[float] = mapped_column(Float)
    low_confidence: Mapped[int] = mapped_column(Integer, doc="events read with confidence below 0.7")
    valid: Mapped[int] = mapped_column(Integer, doc="events whose plate fits a known format")
    last_event_at: Mapped[datetime] = mapped_column(Timestamp)


class EventImage(Base):
    __tablename__ = "event_images"

    event_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True
    )
    crop_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)
    thumbnail_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)


class Device(Base):
    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str | None] = mapped_column(String(16), doc="last status the device published")
    status_at: Mapped[datetime | None] = mapped_column(Timestamp)
    status_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_seen: Mapped[datetime | None] = mapped_column(Timestamp)
    last_event_at: Mapped[datetime | None] = mapped_column(Timestamp)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    stats_at: Mapped[datetime | None] = mapped_column(Timestamp)
    config_version: Mapped[int | None] = mapped_column(Integer, doc="the config version the device runs")
    effective_config: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="the whole config the device reported running, secrets redacted (EffectiveConfig)"
    )
    effective_config_hash: Mapped[str | None] = mapped_column(String(64))
    effective_config_version: Mapped[int | None] = mapped_column(Integer)
    effective_config_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Channel(Base):
    __tablename__ = "channels"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_event_at: Mapped[datetime | None] = mapped_column(Timestamp)


class DeviceConfig(Base):
    """One pushed config version and the device's answer to it."""

    __tablename__ = "device_configs"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    patch: Mapped[dict[str, Any]] = mapped_column(JSON, doc="RFC 7396 merge patch against base_hash's config")
    base_hash: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    issued_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ack_accepted: Mapped[bool | None] = mapped_column(Boolean)
    ack_outcome: Mapped[str | None] = mapped_column(String(16))
    ack_reason: Mapped[str | None] = mapped_column(Text)
    ack_applied_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ack_received_at: Mapped[datetime | None] = mapped_column(Timestamp)


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    topic: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32), doc="low-cardinality reason class, the metric label")
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # Tokens issued before this instant are refused: changing a password logs out old sessions.
    tokens_valid_after: Mapped[datetime] = mapped_column(Timestamp)
    language: Mapped[str | None] = mapped_column(String(8), doc="the UI language the user chose")


class RevokedToken(Base):
    """A token signed out before it expired; kept until its expiry, after which it is refused anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))


class Site(Base):
    """Settings of a site: its time zone, in which watchlist validity windows are read."""

    __tablename__ = "sites"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))


class Watchlist(Base):
    __tablename__ = "watchlists"

    list_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8), doc="allow, deny or alert")
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_by: Mapped[str] = mapped_column(String(64))


class WatchlistEntryRow(Base):
    __tablename__ = "watchlist_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_id: Mapped[str] = mapped_column(String(64), ForeignKey("watchlists.list_id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(PlateKey, doc="glyph form (common.watchlists.plate_key)")
    match: Mapped[str] = mapped_column(String(8), doc="exact or fuzzy")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    weekdays: Mapped[str] = mapped_column(String(16), doc="ISO weekdays, e.g. 12345; empty: every day")
    hours: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_watchlist_entries_list", "list_id", "plate"),)


class WatchlistAssignment(Base):
    """A list applies at a site: to all its gates (gate_id '') or to one gate."""

    __tablename__ = "watchlist_assignments"

    list_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("watchlists.list_id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gate_id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="'' means every gate of the site")


class WatchlistPushRow(Base):
    """One watchlist bundle version pushed to a device, and the device's answer."""

    __tablename__ = "watchlist_pushes"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the bundle without its version")
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    issued_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ack_outcome: Mapped[str | None] = mapped_column(String(16))
    ack_reason: Mapped[str | None] = mapped_column(Text)
    ack_running_version: Mapped[int | None] = mapped_column(Integer)
    ack_received_at: Mapped[datetime | None] = mapped_column(Timestamp)


class GateDecisionRow(Base):
    __tablename__ = "gate_decisions"

    decision_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(64))
    gate_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_at: Mapped[datetime] = mapped_column(Timestamp)
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    # The plate columns are null for a manual open (rule "manual").
    plate_text: Mapped[str | None] = mapped_column(String(32))
    plate_latin: Mapped[str | None] = mapped_column(String(32))
    plate_norm: Mapped[str | None] = mapped_column(PlateKey)
    confidence: Mapped[float | None] = mapped_column(Float)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(16))
    alert: Mapped[bool] = mapped_column(Boolean)
    outputs_ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    watchlist_version: Mapped[int] = mapped_column(Integer)
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    crop_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_gate_decisions_site", "site_id", "decided_at", "decision_id"),
        Index("ix_gate_decisions_plate", "plate_norm", "decided_at"),
    )
