"""The sink that writes finished events into the encrypted store (and through its outbox, MQTT).

A store that refuses a write (disk full, quota reached, locked) keeps the event in memory and
retries; events are not dropped while memory for them remains.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

from common.events import PlateEvent
from edge.events.sinks import RETRY_INTERVAL_S
from edge.store.errors import DuplicateEventError

log = logging.getLogger(__name__)

MAX_HELD_EVENTS = 50_000  # ~2 GB of crops at worst; beyond this the oldest are lost, loudly


class EventWriter(Protocol):
    def add(self, event: PlateEvent) -> object: ...


class StoreSink:
    """Writes events into the event store; failed writes are held and retried in order."""

    name = "store"

    def __init__(self, store: EventWriter, max_held: int = MAX_HELD_EVENTS) -> None:
        self.store = store
        self.held: deque[PlateEvent] = deque()
        self.max_held = max_held
        self.lost = 0
        self.failures = 0
        self._failing = False

    def emit(self, event: PlateEvent) -> None:
        if self.held:
            self._hold(event)
            self.retry()
            return
        try:
            self.store.add(event)
        except DuplicateEventError:
            log.warning("event %s was already stored; not stored twice", event.event_id)
        except Exception as exc:
            self._note_failure(exc)
            self._hold(event)

    def retry(self) -> None:
        """Write held events, oldest first, until the store refuses again."""
        while self.held:
            try:
                self.store.add(self.held[0])
            except DuplicateEventError:
                pass  # stored by an earlier attempt that reported failure late
            except Exception as exc:
                self._note_failure(exc)
                return
            self.held.popleft()
        if self._failing:
            self._failing = False
            log.warning("event store accepts writes again; all held events are stored")

    def _hold(self, event: PlateEvent) -> None:
        if len(self.held) >= self.max_held:
            self.held.popleft()
            self.lost += 1
            log.error("event store unavailable with %d events held: the oldest one is lost", self.max_held)
        self.held.append(event)

    def _note_failure(self, exc: Exception) -> None:
        self.failures += 1
        if not self._failing:
            self._failing = True
            log.error(
                "event store refused a write (%s: %s); holding events in memory and retrying every %.0f s",
                type(exc).__name__, exc, RETRY_INTERVAL_S,
            )
