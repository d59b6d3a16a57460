"""Counters the publisher reports: its own, plus what the agent knows about frames and channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from common.messages import ChannelStats


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
    acked: int  # events acknowledged by the broker and marked synced
    retries: int  # events re-sent because the connection dropped before their PUBACK
    rejected: int  # PUBACKs with a failure reason code (for example not authorised)
    reconnects: int  # successful connections after the first
    connect_failures: int
    inflight: int
    window: int  # the in-flight limit now in force
    stats_sent: int
    last_error: str | None
