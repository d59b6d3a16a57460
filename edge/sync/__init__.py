"""Edge-to-central sync over MQTT: the outbox publisher, the config-push applier, status and stats."""

from common.mqtt import CredentialError
from edge.sync.config_applier import ConfigApplier, write_atomically
from edge.sync.connection import Backoff
from edge.sync.outbox import Outbox, OutboxItem
from edge.sync.publisher import SyncPublisher
from edge.sync.scheduler import CatchUpScheduler
from edge.sync.stats import AgentStats, SyncCounters
from edge.sync.watchlist_applier import WatchlistApplier

__all__ = [
    "AgentStats",
    "Backoff",
    "CatchUpScheduler",
    "ConfigApplier",
    "CredentialError",
    "Outbox",
    "OutboxItem",
    "SyncCounters",
    "SyncPublisher",
    "WatchlistApplier",
    "write_atomically",
]
