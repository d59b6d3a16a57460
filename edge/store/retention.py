"""Retention: events older than the retention period go, and the store stays within its disk quota.

What may be lost is decided by what central already has. By age, only synced events are
deleted; an unsynced event past the period is kept and reported (deleting it would lose it for
good). By quota, the order is: images of synced events, then synced events, then images of
unsynced events (logged: central will get those events without images). Unsynced events are never
dropped: when the quota can only be met that way, the store stays over quota and raises an alarm
(an ERROR log line, `quota_unmet` in the report, and the `quota_alarms` counter).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edge.store.codec import to_micros
from edge.store.sqlite import compact, live_bytes, write_transaction

log = logging.getLogger(__name__)

# Rows deleted per transaction: keeps the write lock short so add() is not held up for long.
DELETE_BATCH = 500
MIB = 1024 * 1024


@dataclass
class RetentionReport:
    expired_events_deleted: int = 0
    expired_unsynced_kept: int = 0
    quarantined_deleted: int = 0
    quota_images_deleted: int = 0
    quota_events_deleted: int = 0
    quota_unsynced_images_deleted: int = 0
    quota_unmet: bool = False
    unsynced_events: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    quota_bytes: int = 0


def _delete_events(conn: sqlite3.Connection, event_ids: list[str]) -> None:
    marks = ",".join("?" * len(event_ids))
    conn.execute(f"DELETE FROM images WHERE event_id IN ({marks})", event_ids)
    conn.execute(f"DELETE FROM events WHERE event_id IN ({marks})", event_ids)


def _delete_images(conn: sqlite3.Connection, rowids: list[int]) -> None:
    conn.execute(f"DELETE FROM images WHERE rowid IN ({','.join('?' * len(rowids))})", rowids)


# Candidates of each quota stage, oldest first, as (key, bytes its deletion frees).
_IMAGES_OF = """SELECT images.rowid, images.size FROM images JOIN events USING (event_id)
                WHERE events.synced = {synced} ORDER BY events.captured_at, events.event_id LIMIT ?"""
_SYNCED_EVENTS = """SELECT events.event_id,
                        events.event_size + coalesce((SELECT sum(size) FROM images
                                                      WHERE images.event_id = events.event_id), 0)
                    FROM events WHERE synced = 1 ORDER BY captured_at, event_id LIMIT ?"""


class _Retention:
    """One retention run. The store's lock is taken per batch, not for the whole run, so the
    pipeline's add() waits for one batch at most."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock, quota_bytes: int) -> None:
        self.conn = conn
        self.lock = lock
        self.quota = quota_bytes
        self.report = RetentionReport(quota_bytes=quota_bytes)

    @contextmanager
    def _batch(self, what: str) -> Iterator[sqlite3.Connection]:
        with self.lock, write_transaction(self.conn, what):
            yield self.conn

    def count(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self.lock:
            return int(self.conn.execute(sql, params).fetchone()[0])

    def used(self) -> int:
        with self.lock:
            return live_bytes(self.conn)

    def expire(self, cutoff_us: int) -> None:
        while True:
            with self._batch("delete expired events") as conn:
                ids = [
                    row[0]
                    for row in conn.execute(
                        "SELECT event_id FROM events WHERE synced = 1 AND captured_at < ? LIMIT ?",
                        (cutoff_us, DELETE_BATCH),
                    )
                ]
                if ids:
                    _delete_events(conn, ids)
            self.report.expired_events_deleted += len(ids)
            if len(ids) < DELETE_BATCH:
                break
        self.report.expired_unsynced_kept = self.count(
            "SELECT count(*) FROM events WHERE synced = 0 AND captured_at < ?", (cutoff_us,)
        )

    def expire_quarantine(self, cutoff_us: int) -> None:
        """Quarantined rows cannot be read by anyone; they are kept for inspection for one period."""
        with self._batch("delete expired quarantined events") as conn:
            conn.execute(
                "DELETE FROM quarantine_images WHERE event_id IN "
                "(SELECT event_id FROM quarantine WHERE quarantined_at < ?)",
                (cutoff_us,),
            )
            self.report.quarantined_deleted = conn.execute(
                "DELETE FROM quarantine WHERE quarantined_at < ?", (cutoff_us,)
            ).rowcount

    def free(self, select: str, delete: Callable[[sqlite3.Connection, list[Any]], None]) -> int:
        """Delete the stage's candidates, oldest first, until the quota is met or none is left;
        returns how many were deleted."""
        deleted = 0
        used = self.used()
        while used > self.quota:
            excess = used - self.quota
            with self._batch("free space for the disk quota") as conn:
                chosen: list[Any] = []
                freed = 0
                for key, size in conn.execute(select, (DELETE_BATCH,)):
                    chosen.append(key)
                    freed += int(size)
                    if freed >= excess:
                        break
                if chosen:
                    delete(conn, chosen)
                used = live_bytes(conn)
            if not chosen:
                break
            deleted += len(chosen)
        return deleted

    def compact(self) -> None:
        with self.lock:
            compact(self.conn)


def apply_retention(
    conn: sqlite3.Connection, lock: threading.Lock, now: datetime, retention_days: float, quota_bytes: int
) -> RetentionReport:
    """Apply the age limit, then the quota, taking `lock` around each use of `conn`."""
    run = _Retention(conn, lock, quota_bytes)
    report = run.report
    report.bytes_before = run.used()
    cutoff = to_micros(now - timedelta(days=retention_days))
    run.expire(cutoff)
    run.expire_quarantine(cutoff)
    if report.expired_unsynced_kept:
        log.warning(
            "%d unsynced events are older than the retention period (%.1f days) and are kept until "
            "central has them; check the MQTT link",
            report.expired_unsynced_kept,
            retention_days,
        )
    report.quota_images_deleted = run.free(_IMAGES_OF.format(synced=1), _delete_images)
    report.quota_events_deleted = run.free(_SYNCED_EVENTS, _delete_events)
    report.quota_unsynced_images_deleted = run.free(_IMAGES_OF.format(synced=0), _delete_images)
    if report.quota_unsynced_images_deleted:
        log.warning(
            "disk quota: dropped %d images of unsynced events; central will get those events without them",
            report.quota_unsynced_images_deleted,
        )
    report.unsynced_events = run.count("SELECT count(*) FROM events WHERE synced = 0")
    used = run.used()
    if used > quota_bytes:
        report.quota_unmet = True
        log.error(
            "ALARM: event store over its disk quota (%.2f MiB used, %.2f MiB allowed) and only unsynced "
            "events are left (%d); they are kept, not dropped. Restore the link to central or raise "
            "store.max_disk_mb",
            used / MIB,
            quota_bytes / MIB,
            report.unsynced_events,
        )
    run.compact()
    report.bytes_after = run.used()
    return report
