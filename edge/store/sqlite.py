"""Opening the SQLite file the way the store needs it, and its transactions.

WAL mode: readers (export, the outbox) never block the writer. synchronous=FULL by default: a
commit is on disk before add() returns, so a power cut loses no acknowledged event; NORMAL is
still safe against a killed process (WAL keeps the file consistent) but may lose the last commits
on power loss. auto_vacuum=INCREMENTAL lets retention give freed pages back to the filesystem.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Literal

import sqlite_utils

from edge.store.errors import StoreError, StoreFullError, is_disk_full

Synchronous = Literal["FULL", "NORMAL"]
BUSY_TIMEOUT_MS = 10_000
# The WAL is truncated back to this size after checkpoints so it does not keep a past peak.
JOURNAL_SIZE_LIMIT = 8 * 1024 * 1024


def open_database(path: Path, synchronous: Synchronous = "FULL") -> sqlite_utils.Database:
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the store issues BEGIN/COMMIT itself, so one add() is one transaction.
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    except (OSError, sqlite3.Error) as exc:
        if is_disk_full(exc):
            raise StoreFullError(f"{path}: the disk is full, cannot create the event database") from exc
        raise StoreError(f"{path}: cannot open the event database: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        # Only takes effect on a new, empty file; must come before the first table exists.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: the filesystem does not support SQLite's WAL mode (got {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT:d}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_disk_full(exc):
            raise StoreFullError(f"{path}: the disk is full, cannot open the event database") from exc
        raise StoreError(f"{path}: not a usable SQLite database: {exc}") from exc
    return sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        # SQLite may have rolled back already (it does so itself on some SQLITE_FULL errors).
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


@contextmanager
def write_transaction(conn: sqlite3.Connection, what: str) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; a full disk becomes StoreFullError after the rollback."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        _rollback(conn)
        if is_disk_full(exc):
            raise StoreFullError(
                f"cannot {what}: the disk is full (or the database reached its size limit); "
                "nothing was written and nothing already stored is lost"
            ) from exc
        raise


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One snapshot for several SELECTs (the event rows and their images agree)."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        _rollback(conn)


def live_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the database's pages in use (freed pages excluded)."""
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * page_size)


def file_bytes(path: Path) -> int:
    """The database file and its WAL on disk."""
    total = 0
    for candidate in (path, path.with_name(path.name + "-wal")):
        with suppress(FileNotFoundError):
            total += candidate.stat().st_size
    return total


def compact(conn: sqlite3.Connection) -> None:
    """Return freed pages to the filesystem and fold the WAL back into the file."""
    # Each sqlite3_step of this pragma frees one page and execute() steps once; executescript
    # runs it to completion. It is called outside any transaction, so its implicit COMMIT is a no-op.
    conn.executescript("PRAGMA incremental_vacuum;")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
