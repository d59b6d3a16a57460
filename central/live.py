"""Live feed: fan newly stored events out to WebSocket subscribers, each with its own filter.

The ingest writer thread publishes (SQLite), or on PostgreSQL the LISTEN thread with the events
of every replica (central.live_notify); subscribers live on the server's event loop, so delivery
goes through `call_soon_threadsafe`. A subscriber that cannot keep up loses its oldest events
rather than slowing ingest.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from central.event_summary import EventSummary

QUEUE_SIZE = 200


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    site_id: str | None = None
    plate_prefix: str | None = None  # a normalized key
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def wants(self, row: dict[str, Any]) -> bool:
        if self.site_id is not None and row["site_id"] != self.site_id:
            return False
        return self.plate_prefix is None or row["plate_norm"].startswith(self.plate_prefix)

    def _offer(self, message: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self, site_id: str | None, plate_prefix: str | None) -> Subscriber:
        subscriber = Subscriber(asyncio.get_running_loop(), site_id, plate_prefix)
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def __len__(self) -> int:
        return len(self._subscribers)

    def publish(self, rows: list[dict[str, Any]]) -> None:
        """Called from any thread with the rows of newly stored events."""
        with self._lock:
            subscribers = list(self._subscribers)
        if not subscribers:
            return
        for row in rows:
            message: dict[str, Any] | None = None
            for subscriber in subscribers:
                if subscriber.wants(row):
                    if message is None:
                        message = {
                            "type": "event",
                            "event": EventSummary.from_row(row).model_dump(mode="json"),
                        }
                    try:
                        subscriber.loop.call_soon_threadsafe(subscriber._offer, message)
                    except RuntimeError:  # its loop has closed; it is leaving
                        self.unsubscribe(subscriber)
