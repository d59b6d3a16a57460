"""The edge agent's encrypted event store with its MQTT outbox, retention and export."""

from edge.store.errors import (
    DuplicateEventError,
    EventNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreKeyMismatchError,
    StoreSchemaError,
)
from edge.store.retention import RetentionReport
from edge.store.store import EventStore, OutboxItem, StoreStats

__all__ = [
    "DuplicateEventError",
    "EventNotFoundError",
    "EventStore",
    "OutboxItem",
    "RetentionReport",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "StoreKeyMismatchError",
    "StoreSchemaError",
    "StoreStats",
]
