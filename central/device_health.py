"""Health of a device and its channels as central last heard it, and what needs an operator's eye.

Figures come from the device's last status (software and model versions) and last stats message
(fps, frames, dropped frames, outbox depth, disk); a figure the device did not send is None, not 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

# What makes a device worth a look; generous so the list stays short on a healthy fleet.
OUTBOX_BACKLOG = 1000
DISK_FREE_SHARE = 0.10
DROPPED_SHARE = 0.20
CERTIFICATE_WARNING = timedelta(days=30)

DeviceState = Literal["online", "offline", "silent", "unknown"]


class ChannelHealth(BaseModel):
    channel_id: str
    last_event_at: datetime | None
    fps: float | None
    frames: int | None
    events: int | None
    dropped: int | None
    delivering: bool | None = Field(description="the camera is delivering frames (from the last stats)")


class Attention(BaseModel):
    """One reason a device needs a look: a code and its parameters (for a UI to translate), and
    the same in English."""

    code: Literal[
        "offline", "silent", "unknown", "outbox_backlog", "disk_low", "certificate_expiring", "no_frames",
        "frames_dropped",
    ]  # fmt: skip
    text: str
    params: dict[str, str | int]


class DeviceHealth(BaseModel):
    state: DeviceState = Field(
        description="online; offline (said so, or its Will); silent (online but unheard past the timeout); "
        "unknown (never sent a status)"
    )
    agent_version: str | None
    models: dict[str, str]
    uptime_s: float | None
    outbox_pending: int | None
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    stats_at: datetime | None
    certificate_expires_at: datetime | None
    attention: list[Attention] = Field(
        description="why an operator should look at this device; empty when fine"
    )


def device_state(status: str | None, fresh: bool) -> DeviceState:
    if status is None:
        return "unknown"
    if status != "online":
        return "offline"
    return "online" if fresh else "silent"


def channel_health(channel_id: str, last_event_at: datetime | None, stats: dict[str, Any]) -> ChannelHealth:
    figures = (stats.get("channels") or {}).get(channel_id) or {}
    return ChannelHealth(
        channel_id=channel_id,
        last_event_at=last_event_at,
        fps=figures.get("fps"),
        frames=figures.get("frames"),
        events=figures.get("events"),
        dropped=figures.get("dropped"),
        delivering=figures.get("online"),
    )


def _reason(code: str, text: str, **params: str | int) -> Attention:
    return Attention(code=code, text=text, params=params)


def attention(
    state: DeviceState, health: DeviceHealth, channels: list[ChannelHealth], now: datetime
) -> list[Attention]:
    reasons = []
    if state != "online":
        text = {"offline": "offline", "silent": "not heard from", "unknown": "never reported"}[state]
        reasons.append(_reason(state, text))
    if health.outbox_pending is not None and health.outbox_pending >= OUTBOX_BACKLOG:
        reasons.append(
            _reason("outbox_backlog", f"outbox backlog {health.outbox_pending}", count=health.outbox_pending)
        )
    free, total = health.disk_free_bytes, health.disk_total_bytes
    if free is not None and total and free / total < DISK_FREE_SHARE:
        reasons.append(
            _reason("disk_low", f"disk {free / total:.0%} free", percent=round(100 * free / total))
        )
    expires = health.certificate_expires_at
    if expires is not None and expires - now < CERTIFICATE_WARNING:
        day = f"{expires:%Y-%m-%d}"
        reasons.append(_reason("certificate_expiring", f"certificate expires {day}", date=day))
    if state == "online":
        for channel in channels:
            name = channel.channel_id
            if channel.delivering is False:
                reasons.append(_reason("no_frames", f"{name}: no frames", channel=name))
            seen = (channel.frames or 0) + (channel.dropped or 0)
            if channel.dropped and seen and channel.dropped / seen > DROPPED_SHARE:
                share = channel.dropped / seen
                text = f"{name}: {share:.0%} frames dropped"
                reasons.append(_reason("frames_dropped", text, channel=name, percent=round(100 * share)))
    return reasons


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def device_health(
    status: str | None,
    fresh: bool,
    status_detail: dict[str, Any] | None,
    stats: dict[str, Any] | None,
    stats_at: datetime | None,
    channels: list[ChannelHealth],
    now: datetime,
) -> DeviceHealth:
    detail = status_detail or {}
    figures = stats or {}
    state = device_state(status, fresh)
    health = DeviceHealth(
        state=state,
        agent_version=detail.get("agent_version"),
        models=detail.get("models") or {},
        uptime_s=figures.get("uptime_s"),
        outbox_pending=figures.get("outbox_pending"),
        disk_free_bytes=figures.get("disk_free_bytes"),
        disk_total_bytes=figures.get("disk_total_bytes"),
        stats_at=stats_at,
        certificate_expires_at=_when(figures.get("certificate_expires_at")),
        attention=[],
    )
    health.attention = attention(state, health, channels, now)
    return health
