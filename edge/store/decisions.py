"""Gate decisions in the event store: sealed with the store's key, synced to central like events.

A decision is personal data like an event (it carries the plate and a crop), so it is sealed the
same way (AES-256-GCM, bound to its id and the `decision` column). It has its own outbox flag;
the sync publisher drains it to `anpr/v1/{site}/{device}/decisions`. Retention deletes synced
decisions past the retention period; unsynced ones are kept.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from common.crypto import DecryptionError, FieldCipher, associated_data
from common.gates import GateDecision
from edge.store.codec import to_micros
from edge.store.errors import DuplicateEventError, StoreCorruptError
from edge.store.sqlite import read_transaction, write_transaction

logger = logging.getLogger(__name__)

DECISION_COLUMN = "decision"
MAX_HELD_DECISIONS = 10_000
_IN_CHUNK = 500


@dataclass(frozen=True)
class DecisionItem:
    """One pending decision as the publisher sends it (fits edge.sync.outbox.OutboxItem)."""

    event_id: uuid.UUID  # the decision id; the outbox protocol calls every id event_id
    payload: bytes


class DecisionLog:
    """The decisions table of one open EventStore; shares its connection and lock."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock, cipher: FieldCipher) -> None:
        self._conn = conn
        self._lock = lock
        self._cipher = cipher
        self.added = 0
        self.unreadable: set[str] = set()  # ids whose sealed row failed authentication

    def add(self, decision: GateDecision) -> None:
        sealed = self._cipher.seal(decision.to_json(), associated_data(decision.decision_id, DECISION_COLUMN))
        with self._lock:
            try:
                with write_transaction(self._conn, f"store decision {decision.decision_id}"):
                    self._conn.execute(
                        "INSERT INTO decisions (decision_id, gate_id, decided_at, sealed) "
                        "VALUES (?, ?, ?, ?)",
                        (str(decision.decision_id), decision.gate_id, to_micros(decision.decided_at), sealed),
                    )
            except sqlite3.IntegrityError as exc:
                raise DuplicateEventError(f"decision {decision.decision_id} is already stored") from exc
            self.added += 1

    def _open(self, decision_id: str, sealed: bytes) -> GateDecision:
        uid = uuid.UUID(decision_id)
        try:
            body = self._cipher.open(sealed, associated_data(uid, DECISION_COLUMN))
        except DecryptionError as exc:
            raise StoreCorruptError(f"decision {decision_id}: stored data failed authentication") from exc
        decision = GateDecision.model_validate_json(body)
        if decision.decision_id != uid:
            raise StoreCorruptError(f"decision {decision_id}: the sealed body belongs to another decision")
        return decision

    def _rows(self, sql: str, params: list[object]) -> list[tuple[str, bytes]]:
        with self._lock, read_transaction(self._conn):
            return [(row[0], bytes(row[1])) for row in self._conn.execute(sql, params)]

    def recent(self, limit: int = 100, gate_id: str | None = None) -> list[GateDecision]:
        """Newest decisions first (the local CLI and tests read them)."""
        where, params = ("WHERE gate_id = ?", [gate_id]) if gate_id else ("", [])
        rows = self._rows(
            f"SELECT decision_id, sealed FROM decisions {where} "
            "ORDER BY decided_at DESC, decision_id DESC LIMIT ?",
            [*params, limit],
        )
        return [self._open(decision_id, sealed) for decision_id, sealed in rows]

    def pending(
        self, limit: int, newest_first: bool = False, exclude: Collection[uuid.UUID | str] = ()
    ) -> list[DecisionItem]:
        """Decisions not yet confirmed by central, in decision order, skipping `exclude` (and rows
        that failed authentication) without decrypting them."""
        order = "DESC" if newest_first else "ASC"
        skip = {str(decision_id) for decision_id in exclude} | self.unreadable
        chosen: list[tuple[str, bytes]] = []
        with self._lock, read_transaction(self._conn):
            ids = self._conn.execute(
                f"SELECT decision_id FROM decisions WHERE synced = 0 "
                f"ORDER BY decided_at {order}, decision_id {order}"
            )
            for (decision_id,) in ids:
                if decision_id in skip:
                    continue
                row = self._conn.execute(
                    "SELECT sealed FROM decisions WHERE decision_id = ?", (decision_id,)
                ).fetchone()
                chosen.append((decision_id, bytes(row[0])))
                if len(chosen) == limit:
                    break
        items: list[DecisionItem] = []
        for decision_id, sealed in chosen:
            try:
                items.append(DecisionItem(uuid.UUID(decision_id), self._open(decision_id, sealed).to_json()))
            except StoreCorruptError as exc:
                # Kept on disk for inspection, never sent: one bad row must not stop the others.
                logger.error("decision %s is unreadable and will not be synced: %s", decision_id, exc)
                self.unreadable.add(decision_id)
        return items

    def mark_synced(self, decision_ids: Iterable[uuid.UUID | str]) -> int:
        keys = sorted({str(uuid.UUID(str(d))) for d in decision_ids})
        changed = 0
        now = to_micros(datetime.now(UTC))
        with self._lock, write_transaction(self._conn, "mark decisions synced"):
            for start in range(0, len(keys), _IN_CHUNK):
                chunk = keys[start : start + _IN_CHUNK]
                cursor = self._conn.execute(
                    f"UPDATE decisions SET synced = 1, synced_at = ? "
                    f"WHERE synced = 0 AND decision_id IN ({','.join('?' * len(chunk))})",
                    [now, *chunk],
                )
                changed += cursor.rowcount
        return changed

    def pending_count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM decisions WHERE synced = 0").fetchone()[0])

    def expire(self, now: datetime, retention_days: float) -> int:
        """Delete synced decisions older than the retention period; unsynced ones stay."""
        cutoff = to_micros(now - timedelta(days=retention_days))
        with self._lock, write_transaction(self._conn, "expire decisions"):
            cursor = self._conn.execute(
                "DELETE FROM decisions WHERE synced = 1 AND decided_at < ?", (cutoff,)
            )
            return cursor.rowcount


class DecisionWriter(Protocol):
    def add(self, decision: GateDecision) -> None: ...


class DecisionSink:
    """Writes decisions into the store; one the store refuses (disk full, locked) is held in memory
    and written, in order, by the next write or `retry()`, so a decision is not lost to a full disk."""

    def __init__(self, log_: DecisionWriter, max_held: int = MAX_HELD_DECISIONS) -> None:
        self.log = log_
        self.max_held = max_held
        self.held: deque[GateDecision] = deque()
        self.lost = 0
        self._lock = threading.Lock()  # each gate's runner thread records its own decisions

    def emit(self, decision: GateDecision) -> None:
        with self._lock:
            if len(self.held) >= self.max_held:
                self.held.popleft()
                self.lost += 1
                logger.error(
                    "decision store unavailable with %d decisions held: the oldest is lost", self.max_held
                )
            self.held.append(decision)
            self._write_held()

    def retry(self) -> int:
        """Write what is held; returns how many are still held."""
        with self._lock:
            self._write_held()
            return len(self.held)

    def _write_held(self) -> None:
        while self.held:
            try:
                self.log.add(self.held[0])
            except DuplicateEventError:
                pass  # an earlier try that reported failure had stored it
            except Exception as exc:
                logger.error(
                    "decision store refused a write (%s: %s); %d decision(s) held for a retry",
                    type(exc).__name__,
                    exc,
                    len(self.held),
                )
                return
            self.held.popleft()
