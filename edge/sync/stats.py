"""Counters the publisher reports: its own, plus what the agent knows about frames and channels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from common.config import EdgeConfig
from common.messages import ChannelStats, DeviceStats, DeviceStatus, utc_now


@dataclass(frozen=True)
class AgentStats:
    """The agent's side of a DeviceStats message, returned by the callback the agent provides."""

    frames: int = 0
    events: int = 0
    channels: dict[str, ChannelStats] = field(default_factory=dict)
    disk_free_bytes: int | None = None  # where the store lives; None when it cannot be read
    disk_total_bytes: int | None = None
    certificate_expires_at: datetime | None = None  # the MQTT client certificate's notAfter


@dataclass(frozen=True)
class SyncCounters:
    """A snapshot of the publisher's state, for /metrics and the stats message."""

    connected: bool
    published: int  # event PUBLISH packets handed to the client, first sends only
    acked: int  # event publishes acknowledged by the broker (flow control only)
    retries: int  # events re-sent: the connection dropped before their PUBACK, or no receipt came
    rejected: int  # PUBACKs with a failure reason code (for example not authorised)
    reconnects: int  # successful connections after the first
    connect_failures: int
    inflight: int
    window: int  # the in-flight limit now in force
    stats_sent: int
    last_error: str | None
    confirmed: int = 0  # events confirmed by a central receipt and marked synced
    conflicts: int = 0  # events central refused: another event with that id is stored
    receipt_timeouts: int = 0  # events sent again because their receipt was overdue
    unconfirmed: int = 0  # events (and decisions) acknowledged by the broker, awaiting a receipt


@dataclass
class SyncTally:
    """The publisher's running counters (SyncCounters documents each); it guards them with a lock."""

    connected: bool = False
    published: int = 0
    acked: int = 0
    confirmed: int = 0
    conflicts: int = 0
    receipt_timeouts: int = 0
    retries: int = 0
    rejected: int = 0
    reconnects: int = 0
    connect_failures: int = 0
    stats_sent: int = 0
    last_error: str | None = None

    def snapshot(self, *, inflight: int, window: int, unconfirmed: int) -> SyncCounters:
        return SyncCounters(**asdict(self), inflight=inflight, window=window, unconfirmed=unconfirmed)


def device_stats(
    config: EdgeConfig,
    uptime_s: float,
    config_version: int,
    agent: AgentStats,
    counters: SyncCounters,
    outbox_pending: int,
) -> DeviceStats:
    """The periodic stats message from the agent's and the publisher's counters."""
    return DeviceStats(
        site_id=config.site_id,
        device_id=config.device_id,
        at=utc_now(),
        uptime_s=uptime_s,
        config_version=config_version,
        frames=agent.frames,
        events=agent.events,
        channels=agent.channels,
        disk_free_bytes=agent.disk_free_bytes,
        disk_total_bytes=agent.disk_total_bytes,
        certificate_expires_at=agent.certificate_expires_at,
        outbox_pending=outbox_pending,
        published=counters.published,
        acked=counters.acked,
        confirmed=counters.confirmed,
        retries=counters.retries,
        reconnects=counters.reconnects,
    )


def device_status(
    config: EdgeConfig, state: str, reason: str, agent_version: str, config_version: int,
    models: dict[str, str],
) -> DeviceStatus:
    return DeviceStatus(
        site_id=config.site_id,
        device_id=config.device_id,
        state=state,  # type: ignore[arg-type]
        reason=reason,  # type: ignore[arg-type]
        at=utc_now(),
        agent_version=agent_version,
        config_version=config_version,
        models=models,
    )
