"""A full disk stops new writes with a clear error and never costs an event already stored."""

from __future__ import annotations

import errno
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from edge.store import EventStore, StoreFullError
from edge.store.errors import is_disk_full


def test_a_full_database_raises_store_full_and_keeps_what_it_has(
    db_path: Path, master_key: bytes, event, jpeg, t0
) -> None:
    # size_limit_mb caps the file through SQLite's max_page_count: SQLite then fails exactly as on
    # a full disk (SQLITE_FULL, "database or disk is full").
    with EventStore(db_path, master_key, size_limit_mb=0.25, synchronous="NORMAL") as store:
        stored = []
        with pytest.raises(StoreFullError, match="disk is full"):
            for i in range(200):
                e = event(captured_at=t0 + timedelta(seconds=i), crop=jpeg(5000, seed=i))
                store.add(e)
                stored.append(e)
        assert 5 < len(stored) < 200
        assert store.count() == len(stored)
        assert store.stats.add_failures_disk_full == 1
        assert store.integrity_check() == ["ok"]
        assert all(store.get(e.event_id) == e for e in stored)

        # Once central has the older events, retention makes room and writes work again.
        store.mark_synced(e.event_id for e in stored[: len(stored) // 2])
        store.quota_bytes = store.disk_usage()[0] // 2
        store.enforce_retention(now=t0)
        late = event(captured_at=t0 + timedelta(hours=1), crop=jpeg(5000))
        store.add(late)
        assert store.get(late.event_id) == late
        assert store.pending_count() == len(stored) - len(stored) // 2 + 1
    with EventStore(db_path, master_key) as reopened:
        assert reopened.integrity_check() == ["ok"]


def test_disk_full_is_recognised_from_sqlite_and_from_the_os() -> None:
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
