"""Response and request bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from central.db.models import Channel, Device, DeviceConfig, Event
from central.device_health import ChannelHealth, DeviceHealth, channel_health, device_health
from central.event_summary import EventSummary
from central.search import as_utc


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


class EventDetail(EventSummary):
    first_seen: datetime
    last_seen: datetime
    received_at: datetime
    plate_format: str | None
    plate_valid: bool
    # A list of exactly four, not a tuple: a tuple's schema (prefixItems, no items) is one many
    # OpenAPI tools and schema validators do not read.
    box: list[int] = Field(min_length=4, max_length=4, description="x1, y1, x2, y2 in image pixels")
    frames: int
    detector_model: str
    reader_model: str

    @classmethod
    def from_event(cls, row: Event) -> EventDetail:
        summary = EventSummary.from_row(row).model_dump()
        return cls(
            **summary,
            first_seen=as_utc(row.first_seen),
            last_seen=as_utc(row.last_seen),
            received_at=as_utc(row.received_at),
            plate_format=row.plate_format,
            plate_valid=row.plate_valid,
            box=[row.box_x1, row.box_y1, row.box_x2, row.box_y2],
            frames=row.frames,
            detector_model=row.detector_model,
            reader_model=row.reader_model,
        )


class EventPage(BaseModel):
    events: list[EventSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null at the end")
    total: int | None = Field(default=None, description="matches in all pages, when asked with count=true")
    total_capped: bool = Field(default=False, description="there are more matches than `total`")


class ChannelOut(BaseModel):
    channel_id: str
    last_event_at: datetime | None

    @classmethod
    def from_row(cls, row: Channel) -> ChannelOut:
        return cls(channel_id=row.channel_id, last_event_at=_utc(row.last_event_at))


class CameraOut(BaseModel):
    site_id: str
    device_id: str
    channel_id: str
    last_event_at: datetime | None

    @field_validator("last_event_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class DeviceOut(BaseModel):
    device_id: str
    site_id: str
    online: bool = Field(description="last status 'online' and heard from within the online timeout")
    status: str | None
    status_at: datetime | None
    last_seen: datetime | None
    last_event_at: datetime | None
    config_version: int | None = Field(description="the config version the device reports running")
    agent_version: str | None
    channels: list[ChannelOut]
    stats: dict[str, Any] | None
    health: DeviceHealth
    channel_health: list[ChannelHealth]


class SiteOut(BaseModel):
    site_id: str
    devices: int
    online: int
    last_seen: datetime | None


class ConfigVersionOut(BaseModel):
    version: int
    issued_at: datetime
    issued_by: str
    published: bool
    ack: str = Field(description="pending, applied, rejected or stale")
    ack_reason: str | None
    ack_applied_at: datetime | None
    patch: dict[str, Any] = Field(description="the RFC 7396 merge patch pushed")
    base_hash: str | None = Field(description="hash of the reported config the patch was checked against")

    @classmethod
    def from_row(cls, row: DeviceConfig) -> ConfigVersionOut:
        return cls(
            version=row.version,
            issued_at=as_utc(row.issued_at),
            issued_by=row.issued_by,
            published=row.published_at is not None,
            ack=row.ack_outcome or "pending",
            ack_reason=row.ack_reason,
            ack_applied_at=_utc(row.ack_applied_at),
            patch=row.patch,
            base_hash=row.base_hash,
        )


class ConfigCheckOut(BaseModel):
    """A merge patch checked without pushing: what the device would run if it were pushed now."""

    version: int = Field(description="the version a push made now would get")
    config: dict[str, Any] = Field(description="the report with the patch applied, secrets redacted")


class EffectiveConfigOut(BaseModel):
    """The config the device reported running (secrets redacted): what a push patches."""

    version: int
    hash: str
    reported_at: datetime
    config: dict[str, Any]

    @classmethod
    def from_device(cls, device: Device) -> EffectiveConfigOut | None:
        if device.effective_config is None or device.effective_config_at is None:
            return None
        return cls(
            version=device.effective_config_version or 0,
            hash=device.effective_config_hash or "",
            reported_at=as_utc(device.effective_config_at),
            config=device.effective_config,
        )


class DeviceConfigOut(BaseModel):
    device_id: str
    running_version: int | None
    effective: EffectiveConfigOut | None = Field(description="null until the device reports its config")
    latest: ConfigVersionOut | None
    history: list[ConfigVersionOut]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class MeOut(BaseModel):
    username: str
    role: str
    language: str | None = Field(default=None, description="UI language the user chose; null: not chosen")


class MeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["en", "ru"] = Field(description="UI language: en or ru")


class AuditOut(BaseModel):
    at: datetime
    username: str
    action: str
    detail: dict[str, Any]
    client: str | None


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    topic: str
    kind: str
    reason: str
    size: int


def device_out(device: Device, channels: list[Channel], now: datetime, online_timeout_s: float) -> DeviceOut:
    last_seen = _utc(device.last_seen)
    fresh = last_seen is not None and (now - last_seen).total_seconds() <= online_timeout_s
    detail = device.status_detail or {}
    per_channel = [channel_health(c.channel_id, _utc(c.last_event_at), device.stats or {}) for c in channels]
    health = device_health(
        device.status, fresh, device.status_detail, device.stats, _utc(device.stats_at), per_channel, now
    )
    return DeviceOut(
        device_id=device.device_id,
        site_id=device.site_id,
        online=device.status == "online" and fresh,
        status=device.status,
        status_at=_utc(device.status_at),
        last_seen=last_seen,
        last_event_at=_utc(device.last_event_at),
        config_version=device.config_version,
        agent_version=detail.get("agent_version"),
        channels=[ChannelOut.from_row(c) for c in channels],
        stats=device.stats,
        health=health,
        channel_health=per_channel,
    )
