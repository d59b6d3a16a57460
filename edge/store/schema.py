"""The store's schema and its migrations, versioned by SQLite's `PRAGMA user_version`.

Each migration is a list of statements applied in one transaction together with the version
bump, so a crash mid-migration leaves the previous version intact. A new version appends a step;
published steps are never edited, because devices in the field have already run them.

Only what retention, time queries and the outbox need is stored in the clear: ids, channel,
capture time, confidence, country/format, the synced flag and sizes. The plate and everything
else about the event is sealed (see common.crypto); the blind index finds a plate without
decrypting any other.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from edge.store.errors import StoreSchemaError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events with sealed bodies, sealed images apart (quota drops them first), meta",
        (
            """CREATE TABLE meta (
                name TEXT PRIMARY KEY,
                value BLOB NOT NULL
            )""",
            """CREATE TABLE events (
                event_id TEXT PRIMARY KEY,
                channel_id TEXT NOT NULL,
                captured_at INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
                confidence REAL NOT NULL,
                country TEXT,
                format TEXT,
                plate_index BLOB NOT NULL,      -- HMAC-SHA256 of the plate's glyph form
                sealed_event BLOB NOT NULL,     -- AES-256-GCM of the event JSON without images
                event_size INTEGER NOT NULL,
                synced INTEGER NOT NULL DEFAULT 0 CHECK (synced IN (0, 1))
            )""",
            "CREATE INDEX events_captured_at ON events (captured_at)",
            "CREATE INDEX events_channel ON events (channel_id, captured_at)",
            "CREATE INDEX events_plate_index ON events (plate_index)",
            """CREATE TABLE images (
                event_id TEXT NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
                kind TEXT NOT NULL CHECK (kind IN ('crop', 'thumbnail')),
                size INTEGER NOT NULL,          -- plaintext bytes
                sealed BLOB NOT NULL,
                PRIMARY KEY (event_id, kind)
            )""",
        ),
    ),
    Migration(
        2,
        "when each event was synced; a partial index so the outbox never scans synced events",
        (
            "ALTER TABLE events ADD COLUMN synced_at INTEGER",  # microseconds since the epoch
            "CREATE INDEX events_outbox ON events (captured_at, event_id) WHERE synced = 0",
        ),
    ),
    Migration(
        3,
        "quarantine: rows that failed authentication are moved aside so the rest stays readable",
        (
            """CREATE TABLE quarantine (
                event_id TEXT PRIMARY KEY,
                channel_id TEXT NOT NULL,
                captured_at INTEGER NOT NULL,
                synced INTEGER NOT NULL,
                sealed_event BLOB NOT NULL,
                reason TEXT NOT NULL,
                quarantined_at INTEGER NOT NULL  -- microseconds since the epoch
            )""",
            """CREATE TABLE quarantine_images (
                event_id TEXT NOT NULL REFERENCES quarantine (event_id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                size INTEGER NOT NULL,
                sealed BLOB NOT NULL,
                PRIMARY KEY (event_id, kind)
            )""",
        ),
    ),
    Migration(
        4,
        "gate decisions, sealed like events, with their own outbox flag (edge.store.decisions)",
        (
            """CREATE TABLE decisions (
                decision_id TEXT PRIMARY KEY,
                gate_id TEXT NOT NULL,
                decided_at INTEGER NOT NULL,    -- microseconds since the Unix epoch, UTC
                sealed BLOB NOT NULL,           -- AES-256-GCM of the GateDecision JSON, crop included
                synced INTEGER NOT NULL DEFAULT 0 CHECK (synced IN (0, 1)),
                synced_at INTEGER
            )""",
            "CREATE INDEX decisions_time ON decisions (decided_at)",
            "CREATE INDEX decisions_outbox ON decisions (decided_at, decision_id) WHERE synced = 0",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST_VERSION) -> int:
    """Bring the database up to `target`; returns the version it had before.

    `conn` must be in autocommit mode (isolation_level=None): each step runs in its own
    BEGIN IMMEDIATE transaction, which also keeps two processes opening one new file apart.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"schema version {target} is unknown (latest is {LATEST_VERSION})")
    before = schema_version(conn)
    if before > LATEST_VERSION:
        raise StoreSchemaError(
            f"the database has schema version {before}, newer than this software knows "
            f"({LATEST_VERSION}); upgrade the agent or restore an older database"
        )
    for step in MIGRATIONS:
        if step.version > target:
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            if schema_version(conn) >= step.version:
                conn.execute("COMMIT")
                continue
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return before
