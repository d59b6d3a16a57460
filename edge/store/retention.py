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
from collections.abc import Callable
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


def _expire_by_age(conn: sqlite3.Connection, cutoff_us: int, report: RetentionReport) -> None:
    while True:
        with write_transaction(conn, "delete expired events"):
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT event_id FROM events WHERE synced = 1 AND captured_at < ? LIMIT ?",
                    (cutoff_us, DELETE_BATCH),
                )
            ]
            if ids:
                _delete_events(conn, ids)
        report.expired_events_deleted += len(ids)
        if len(ids) < DELETE_BATCH:
            break
    report.expired_unsynced_kept = conn.execute(
        "SELECT count(*) FROM events WHERE synced = 0 AND captured_at < ?", (cutoff_us,)
    ).fetchone()[0]


# Each stage: candidates oldest first as (key, bytes freed), and how to delete a list of keys.
_IMAGES_OF = """SELECT images.rowid, images.size FROM images JOIN events USING (event_id)
                WHERE events.synced = {synced} ORDER BY events.captured_at, events.event_id LIMIT ?"""
_SYNCED_EVENTS = """SELECT events.event_id,
                        events.event_size + coalesce((SELECT sum(size) FROM images
                                                      WHERE images.event_id = events.event_id), 0)
                    FROM events WHERE synced = 1 ORDER BY captured_at, event_id LIMIT ?"""


def _delete_images(conn: sqlite3.Connection, rowids: list[int]) -> None:
    conn.execute(f"DELETE FROM images WHERE rowid IN ({','.join('?' * len(rowids))})", rowids)


def _free_stage(
    conn: sqlite3.Connection,
    quota: int,
    select: str,
    delete: Callable[[sqlite3.Connection, list[Any]], None],
    report_field: str,
    report: RetentionReport,
) -> int:
    """Delete the stage's candidates, oldest first, until the quota is met or none is left."""
    used = live_bytes(conn)
    while used > quota:
        excess = used - quota
        with write_transaction(conn, "free space for the disk quota"):
            chosen: list[Any] = []
            freed = 0
            for key, size in conn.execute(select, (DELETE_BATCH,)):
                chosen.append(key)
                freed += int(size)
                if freed >= excess:
                    break
            if chosen:
                delete(conn, chosen)
        if not chosen:
            break
        setattr(report, report_field, getattr(report, report_field) + len(chosen))
        used = live_bytes(conn)
    return used


def apply_retention(
    conn: sqlite3.Connection, now: datetime, retention_days: float, quota_bytes: int
) -> RetentionReport:
    """Apply the age limit, then the quota. The caller holds the store's lock."""
    report = RetentionReport(bytes_before=live_bytes(conn), quota_bytes=quota_bytes)
    _expire_by_age(conn, to_micros(now - timedelta(days=retention_days)), report)
    if report.expired_unsynced_kept:
        log.warning(
            "%d unsynced events are older than the retention period (%.1f days) and are kept until "
            "central has them; check the MQTT link",
            report.expired_unsynced_kept,
            retention_days,
        )
    used = _free_stage(
        conn, quota_bytes, _IMAGES_OF.format(synced=1), _delete_images, "quota_images_deleted", report
    )
    if used > quota_bytes:
        used = _free_stage(conn, quota_bytes, _SYNCED_EVENTS, _delete_events, "quota_events_deleted", report)
    if used > quota_bytes:
        used = _free_stage(
            conn,
            quota_bytes,
            _IMAGES_OF.format(synced=0),
            _delete_images,
            "quota_unsynced_images_deleted",
            report,
        )
        if report.quota_unsynced_images_deleted:
            log.warning(
                "disk quota: dropped the images of %d unsynced events; central will get them without images",
                report.quota_unsynced_images_deleted,
            )
    report.unsynced_events = conn.execute("SELECT count(*) FROM events WHERE synced = 0").fetchone()[0]
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
    compact(conn)
    report.bytes_after = live_bytes(conn)
    return report
