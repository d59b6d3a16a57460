"""The edge agent's event store: encrypted plate events in SQLite, with the MQTT outbox beside them.

add() writes the event, its sealed plate and images, the blind index and the outbox mark in one
transaction: after add() returns the event survives a killed process (and, with the default
synchronous=FULL, a power cut). The outbox is the `synced` flag: pending() hands the publisher
the exact JSON to send, mark_synced() records central's receipt. A row that fails authentication
is moved to quarantine (edge.store.quarantine) and reading goes on without it.

One connection, guarded by a lock, so the pipeline thread and the publisher thread can share a
store. Other processes (the export CLI) may open the same file: WAL lets them read meanwhile.
"""

from __future__ import annotations

import hmac
import logging
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from common.config import StoreConfig
from common.crypto import STORE_KEY_CREDENTIAL, StoreKeys, load_store_key
from common.events import PlateEvent
from edge.store.codec import EventCodec, to_micros
from edge.store.decisions import DecisionLog
from edge.store.errors import (
    DuplicateEventError,
    EventNotFoundError,
    StoreCorruptError,
    StoreFullError,
    StoreKeyMismatchError,
)
from edge.store.quarantine import is_quarantined, quarantine_events, quarantined_count
from edge.store.retention import MIB, RetentionReport, apply_retention
from edge.store.rows import EVENT_COLUMNS as _EVENT_COLUMNS
from edge.store.rows import chunks as _chunks
from edge.store.rows import pending_rows, sealed_images
from edge.store.schema import migrate
from edge.store.sqlite import (
    Synchronous,
    file_bytes,
    live_bytes,
    open_database,
    read_transaction,
    write_transaction,
)

log = logging.getLogger(__name__)

MAX_QUERY_LIMIT = 10_000
_KEY_CHECK = "key_check"


@dataclass(frozen=True)
class OutboxItem:
    event_id: uuid.UUID
    payload: bytes  # PlateEvent JSON, exactly event.to_json()


@dataclass
class StoreStats:
    """Counters since the store was opened (the pipeline exports them as Prometheus metrics)."""

    events_added: int = 0
    add_failures_disk_full: int = 0
    events_synced: int = 0
    events_expired: int = 0
    events_evicted_for_quota: int = 0
    images_evicted_for_quota: int = 0
    quota_alarms: int = 0
    events_quarantined: int = 0  # rows that failed authentication, moved aside (see quarantine.py)
    expired_unsynced_kept: int = 0  # gauge: as of the last retention run
    last_retention: RetentionReport | None = None


def _event_key(event_id: uuid.UUID | str) -> str:
    try:
        return str(event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id)))
    except ValueError as exc:
        raise ValueError(f"{event_id!r} is not an event id (UUID)") from exc


class EventStore:
    def __init__(
        self,
        path: str | Path,
        key: bytes,
        *,
        retention_days: float = 30.0,
        max_disk_mb: float = 2048.0,
        keep_thumbnails: bool = True,
        synchronous: Synchronous = "FULL",
        size_limit_mb: float | None = None,
    ) -> None:
        """Open (creating or migrating) the store at `path` with the 32-byte master `key`.

        size_limit_mb is a hard cap on the database file, for devices whose store shares a
        filesystem with the system: a write past it fails with StoreFullError, as on a full disk.
        The soft quota (max_disk_mb) is what enforce_retention() keeps to.
        """
        if retention_days <= 0 or max_disk_mb <= 0:
            raise ValueError("retention_days and max_disk_mb must be positive")
        if size_limit_mb is not None and size_limit_mb <= 0:
            raise ValueError("size_limit_mb must be positive")
        self.path = Path(path)
        self.retention_days = retention_days
        self.quota_bytes = int(max_disk_mb * MIB)
        self.keep_thumbnails = keep_thumbnails
        self.stats = StoreStats()
        keys = StoreKeys.derive(key)
        self._codec = EventCodec(keys)
        self._lock = threading.Lock()
        self._db = open_database(self.path, synchronous)
        self._conn: sqlite3.Connection = self._db.conn
        try:
            if size_limit_mb is not None:
                page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
                max_pages = max(1, int(size_limit_mb * MIB) // page_size)
                self._conn.execute(f"PRAGMA max_page_count = {max_pages:d}")
            migrate(self._conn)
            self._check_key(keys.check_value)
        except BaseException:
            self._conn.close()
            raise
        # Gate decisions (edge.gates) live beside the events, sealed with the same key.
        self.decisions = DecisionLog(self._conn, self._lock, keys.cipher)

    @classmethod
    def from_config(cls, config: StoreConfig, credential_name: str = STORE_KEY_CREDENTIAL) -> EventStore:
        """Open the configured store; the key comes from the systemd credential or the key file.

        A key file is created only for a new database: beside an existing one, a missing key is
        an error rather than a fresh key that cannot read it.
        """
        return cls(
            config.path,
            load_store_key(config.key_file, credential_name, create=not config.path.exists()),
            retention_days=config.retention_days,
            max_disk_mb=config.max_disk_mb,
            keep_thumbnails=config.keep_thumbnails,
        )

    def _check_key(self, check_value: bytes) -> None:
        with write_transaction(self._conn, "record the store key check value"):
            row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (_KEY_CHECK,)).fetchone()
            if row is None:
                if self._conn.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone()[0]:
                    raise StoreKeyMismatchError(
                        f"{self.path}: the database holds events but no key check value; it was not "
                        "written by this store"
                    )
                self._conn.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (_KEY_CHECK, check_value))
            elif not hmac.compare_digest(bytes(row[0]), check_value):
                raise StoreKeyMismatchError(
                    f"{self.path}: store key does not match this database; restore the key file it was "
                    "created with (a new key cannot decrypt it)"
                )

    # -- writing ---------------------------------------------------------------------------------

    def add(self, event: PlateEvent) -> None:
        sealed = self._codec.seal(event, keep_thumbnail=self.keep_thumbnails)
        with self._lock:
            try:
                with write_transaction(self._conn, f"store event {sealed.event_id}"):
                    self._conn.execute(
                        """INSERT INTO events (event_id, channel_id, captured_at, confidence, country, format,
                                               plate_index, sealed_event, event_size, synced)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)""",
                        (
                            sealed.event_id,
                            sealed.channel_id,
                            sealed.captured_at,
                            sealed.confidence,
                            sealed.country,
                            sealed.format,
                            sealed.plate_index,
                            sealed.sealed_event,
                            len(sealed.sealed_event),
                        ),
                    )
                    self._conn.executemany(
                        "INSERT INTO images (event_id, kind, size, sealed) VALUES (?, ?, ?, ?)",
                        [(sealed.event_id, image.kind, image.size, image.sealed) for image in sealed.images],
                    )
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" not in str(exc):
                    raise
                raise DuplicateEventError(f"event {sealed.event_id} is already stored") from exc
            except StoreFullError:
                self.stats.add_failures_disk_full += 1
                raise
            self.stats.events_added += 1

    def mark_synced(self, event_ids: Iterable[uuid.UUID | str]) -> int:
        """Record that central confirmed these events (a receipt); returns how many were pending."""
        keys = sorted({_event_key(event_id) for event_id in event_ids})
        changed = 0
        now = to_micros(datetime.now(UTC))
        with self._lock, write_transaction(self._conn, "mark events synced"):
            for chunk in _chunks(keys):
                cursor = self._conn.execute(
                    f"UPDATE events SET synced = 1, synced_at = ? "
                    f"WHERE synced = 0 AND event_id IN ({','.join('?' * len(chunk))})",
                    [now, *chunk],
                )
                changed += cursor.rowcount
        self.stats.events_synced += changed
        return changed

    def enforce_retention(self, now: datetime | None = None) -> RetentionReport:
        """Delete by age, then free space for the quota; see edge.store.retention for the order."""
        moment = now or datetime.now(UTC)
        self.decisions.expire(moment, self.retention_days)
        report = apply_retention(self._conn, self._lock, moment, self.retention_days, self.quota_bytes)
        self.stats.events_expired += report.expired_events_deleted
        self.stats.events_evicted_for_quota += report.quota_events_deleted
        self.stats.images_evicted_for_quota += (
            report.quota_images_deleted + report.quota_unsynced_images_deleted
        )
        self.stats.quota_alarms += int(report.quota_unmet)
        self.stats.expired_unsynced_kept = report.expired_unsynced_kept
        self.stats.last_retention = report
        return report

    # -- reading ---------------------------------------------------------------------------------

    def _select(self, sql: str, params: list[Any]) -> list[PlateEvent]:
        """Events of a SELECT of (event_id, sealed_event) rows, in its order.

        Rows and images are read in one snapshot under the lock; decryption happens after it is
        released, so add() does not wait for it. A row that fails authentication is quarantined
        and the SELECT runs again, so one corrupt row never hides the others.
        """
        while True:
            with self._lock, read_transaction(self._conn):
                rows = self._conn.execute(sql, params).fetchall()
                images = sealed_images(self._conn, [event_id for event_id, _ in rows])
            events, corrupt = self._open_rows(rows, images)
            if not corrupt:
                return events
            self._quarantine(corrupt)

    def _open_rows(
        self, rows: list[tuple[str, bytes]], images: dict[str, dict[str, bytes]]
    ) -> tuple[list[PlateEvent], dict[str, str]]:
        events: list[PlateEvent] = []
        corrupt: dict[str, str] = {}
        for event_id, sealed in rows:
            try:
                events.append(self._codec.open(event_id, sealed, images[event_id]))
            except StoreCorruptError as exc:
                corrupt[event_id] = str(exc)
        return events, corrupt

    def _quarantine(self, corrupt: dict[str, str]) -> None:
        with self._lock:
            moved = quarantine_events(self._conn, corrupt)
        self.stats.events_quarantined += moved

    def quarantined_count(self) -> int:
        """Rows moved to quarantine because they failed authentication (ever, not since open)."""
        with self._lock:
            return quarantined_count(self._conn)

    @staticmethod
    def _time_window(since: datetime | None, until: datetime | None) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("captured_at >= ?")
            params.append(to_micros(since))
        if until is not None:
            clauses.append("captured_at < ?")
            params.append(to_micros(until))
        return clauses, params

    def get(self, event_id: uuid.UUID | str) -> PlateEvent:
        key = _event_key(event_id)
        found = self._select(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id = ?", [key])
        if not found:
            with self._lock:
                quarantined = is_quarantined(self._conn, key)
            if quarantined:
                raise StoreCorruptError(f"event {key} failed authentication and is in quarantine")
            raise EventNotFoundError(f"no event {key} in {self.path}")
        return found[0]

    def query(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        channel_id: str | None = None,
        plate: str | None = None,
        limit: int = 100,
    ) -> list[PlateEvent]:
        """Events captured in [since, until), newest first; `plate` in any spelling (Cyrillic or Latin).

        A plate is found through its blind index: no other event is decrypted.
        """
        if not 1 <= limit <= MAX_QUERY_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_QUERY_LIMIT}, not {limit}")
        clauses, params = self._time_window(since, until)
        if channel_id is not None:
            clauses.append("channel_id = ?")
            params.append(channel_id)
        if plate is not None:
            clauses.append("plate_index = ?")
            params.append(self._codec.plate_index(plate))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._select(
            f"SELECT {_EVENT_COLUMNS} FROM events {where} ORDER BY captured_at DESC, event_id DESC LIMIT ?",
            [*params, limit],
        )

    def iter_events(
        self, since: datetime | None = None, until: datetime | None = None, batch_size: int = 200
    ) -> Iterator[PlateEvent]:
        """Every event captured in [since, until), oldest first, a batch at a time (for export)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        after: tuple[int, str] | None = None
        while True:
            clauses, params = self._time_window(since, until)
            if after is not None:  # keyset paging: stable while events are added meanwhile
                clauses.append("(captured_at, event_id) > (?, ?)")
                params.extend(after)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            events = self._select(
                f"SELECT {_EVENT_COLUMNS} FROM events {where} ORDER BY captured_at, event_id LIMIT ?",
                [*params, batch_size],
            )
            yield from events
            if len(events) < batch_size:
                return
            after = (to_micros(events[-1].captured_at), str(events[-1].event_id))

    def pending(
        self, limit: int, newest_first: bool = False, exclude: Collection[uuid.UUID | str] = ()
    ) -> list[OutboxItem]:
        """Events not yet confirmed by central, oldest first unless newest_first, skipping `exclude`.

        The ids are walked on the outbox index without decrypting anything, so excluding the
        events already in flight costs no decryption; only the `limit` returned are opened.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        order: Literal["ASC", "DESC"] = "DESC" if newest_first else "ASC"
        skip = {str(event_id) for event_id in exclude}
        while True:
            with self._lock, read_transaction(self._conn):
                rows = pending_rows(self._conn, limit, order, skip)
                images = sealed_images(self._conn, [event_id for event_id, _ in rows])
            events, corrupt = self._open_rows(rows, images)
            if not corrupt:
                return [OutboxItem(event.event_id, event.to_json()) for event in events]
            self._quarantine(corrupt)

    def _scalar(self, sql: str) -> int:
        with self._lock:
            return int(self._conn.execute(sql).fetchone()[0])

    def pending_count(self) -> int:
        return self._scalar("SELECT count(*) FROM events WHERE synced = 0")

    def count(self) -> int:
        with self._lock:
            return int(self._db["events"].count)

    def disk_usage(self) -> tuple[int, int]:
        """(bytes of live pages, bytes of the database and WAL files on disk)."""
        with self._lock:
            return live_bytes(self._conn), file_bytes(self.path)

    def integrity_check(self) -> list[str]:
        """SQLite's integrity check; ["ok"] when the file is sound."""
        with self._lock:
            return [row[0] for row in self._conn.execute("PRAGMA integrity_check")]

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
