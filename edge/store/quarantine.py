"""Quarantine: a stored row that fails authentication is moved out of the way, not read again.

One flipped bit in one sealed value would otherwise make every read that touches the row fail:
the outbox could never page past it and `anpr-edge events list` would die on it. The row (its
sealed bytes, untouched, for forensics) moves to the `quarantine` tables in one transaction, and
the store goes on with the others. The log line names the event id only: the plate is sealed in
the very bytes that failed, and the clear columns never hold it. Retention deletes quarantined
rows one retention period after they were quarantined.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime

from edge.store.codec import to_micros
from edge.store.sqlite import write_transaction

log = logging.getLogger(__name__)


def quarantine_events(conn: sqlite3.Connection, reasons: Mapping[str, str]) -> int:
    """Move these events (event id -> why) and their images into quarantine; returns how many moved.

    The caller holds the store's lock. An id already gone (deleted or moved meanwhile) is skipped.
    """
    now = to_micros(datetime.now(UTC))
    moved = 0
    with write_transaction(conn, "quarantine corrupt events"):
        for event_id, reason in sorted(reasons.items()):
            cursor = conn.execute(
                """INSERT OR IGNORE INTO quarantine
                       (event_id, channel_id, captured_at, synced, sealed_event, reason, quarantined_at)
                   SELECT event_id, channel_id, captured_at, synced, sealed_event, ?, ?
                   FROM events WHERE event_id = ?""",
                (reason, now, event_id),
            )
            if cursor.rowcount == 0:
                continue
            conn.execute(
                """INSERT OR IGNORE INTO quarantine_images (event_id, kind, size, sealed)
                   SELECT event_id, kind, size, sealed FROM images WHERE event_id = ?""",
                (event_id,),
            )
            conn.execute("DELETE FROM images WHERE event_id = ?", (event_id,))
            conn.execute("DELETE FROM events WHERE event_id = ?", (event_id,))
            moved += 1
    for event_id, reason in sorted(reasons.items()):
        log.error("event %s moved to quarantine: %s", event_id, reason)
    return moved


def quarantined_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM quarantine").fetchone()[0])


def is_quarantined(conn: sqlite3.Connection, event_id: str) -> bool:
    return conn.execute("SELECT 1 FROM quarantine WHERE event_id = ?", (event_id,)).fetchone() is not None
