"""Reading sealed rows: the plain SQL under the store's reads, kept apart from decryption."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Set
from typing import Literal

EVENT_COLUMNS = "event_id, sealed_event"
# SQLite's default limit on bound parameters is 32766 (999 before 3.32); stay well below.
IN_CHUNK = 500


def chunks(items: list[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sealed_images(conn: sqlite3.Connection, event_ids: list[str]) -> dict[str, dict[str, bytes]]:
    """event id -> {kind: sealed image} for these events (an event without images maps to {})."""
    images: dict[str, dict[str, bytes]] = {event_id: {} for event_id in event_ids}
    for chunk in chunks(event_ids):
        for event_id, kind, sealed in conn.execute(
            f"SELECT event_id, kind, sealed FROM images WHERE event_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            images[event_id][kind] = sealed
    return images


def pending_rows(
    conn: sqlite3.Connection, limit: int, order: Literal["ASC", "DESC"], skip: Set[str]
) -> list[tuple[str, bytes]]:
    """(event id, sealed event) of up to `limit` unsynced events in capture order, skipping `skip`.

    The ids are walked on the partial outbox index first, so skipped events cost no blob read.
    """
    chosen: list[str] = []
    for (event_id,) in conn.execute(
        f"SELECT event_id FROM events WHERE synced = 0 ORDER BY captured_at {order}, event_id {order}"
    ):
        if event_id not in skip:
            chosen.append(event_id)
            if len(chosen) == limit:
                break
    sealed: dict[str, bytes] = {}
    for chunk in chunks(chosen):
        marks = ",".join("?" * len(chunk))
        sealed.update(conn.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id IN ({marks})", chunk))
    return [(event_id, sealed[event_id]) for event_id in chosen]
