"""The live feed across replicas on PostgreSQL: LISTEN/NOTIFY.

The ingest transaction that stores events also issues `NOTIFY` with their ids (central.ingest.writer),
so the notification is delivered when, and only if, the events are committed. Every replica keeps
one dedicated connection that LISTENs on the channel, reads the notified events back (only when it
has live clients) and hands them to its LiveHub, which fans them out to its WebSocket clients. So a
client sees every event stored by any replica, the one it is connected to included (on PostgreSQL
that replica's own ingest does not publish to its hub directly, or events would show twice).

The payload is JSON within PostgreSQL's 8000-byte limit: up to `IDS_PER_NOTIFY` event ids and the
range of their capture times, which lets the read-back touch only the partitions concerned. The
channel is named after the schema, so centrals that share a database in different schemas (tests,
benchmarks) do not hear each other.

A listener connection that drops is reopened with exponential backoff, each loss logged. Events
committed while it was down are not shown live (they are stored and searchable as ever).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from central.db.models import Event
from central.live import LiveHub

log = logging.getLogger(__name__)

CHANNEL = "anpr_events"
IDS_PER_NOTIFY = 180  # 180 ids x 39 bytes + two timestamps stay well under the 8000-byte limit
MAX_CHANNEL_LENGTH = 63  # PostgreSQL truncates identifiers beyond this
_SUMMARY_COLUMNS = (
    "event_id", "site_id", "device_id", "channel_id", "captured_at", "plate_text", "plate_latin",
    "plate_norm", "country", "region", "confidence", "has_crop",
)


def channel_name(connection: Connection) -> str:
    """The channel of the schema `connection` works in."""
    schema = connection.execute(text("SELECT current_schema()")).scalar()
    if schema in (None, "public"):
        return CHANNEL
    return f"{CHANNEL}.{schema}"[:MAX_CHANNEL_LENGTH]


def payloads(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """NOTIFY payloads naming the stored events `rows`, in their order."""
    out = []
    for start in range(0, len(rows), IDS_PER_NOTIFY):
        chunk = rows[start : start + IDS_PER_NOTIFY]
        times = [row["captured_at"] for row in chunk]
        message = {
            "ids": [str(row["event_id"]) for row in chunk],
            "from": min(times).isoformat(),
            "to": max(times).isoformat(),
        }
        out.append(json.dumps(message, separators=(",", ":")))
    return out


def notify(connection: Connection, channel: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue notifications of newly stored events in the current transaction."""
    statement = text("SELECT pg_notify(:channel, :payload)")
    for payload in payloads(rows):
        connection.execute(statement, {"channel": channel, "payload": payload})


def parse_payload(payload: str) -> tuple[list[uuid.UUID], datetime, datetime]:
    """(event ids, earliest and latest capture time); ValueError for anything else."""
    try:
        message = json.loads(payload)
        ids = [uuid.UUID(value) for value in message["ids"]]
        return ids, datetime.fromisoformat(message["from"]), datetime.fromisoformat(message["to"])
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a live-feed notification: {exc}") from exc


class NotifyListener:
    """One replica's LISTEN connection, in a thread of its own, feeding the replica's LiveHub.

    Started on the first live client (a replica nobody watches holds no extra connection); once
    started it runs until `stop`.
    """

    def __init__(
        self, engine: Engine, hub: LiveHub, *, backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.backend_pid: int | None = None  # of the listening connection, while it is open
        self.connections = 0  # times a LISTEN has been established
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_started(self, wait_s: float = 5.0) -> None:
        """Start listening unless already started; waits up to `wait_s` for the first LISTEN, so a
        client told it is subscribed does not miss an event committed just after."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-listener", daemon=True)
                self._thread.start()
        self.wait_for_connections(1, wait_s)

    def wait_for_connections(self, count: int, timeout: float) -> bool:
        """True once LISTEN has been established `count` times (reconnects included)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.connections >= count, timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _connect(self) -> psycopg.Connection[Any]:
        # A connection made like the pool's (same URL and options, e.g. search_path), taken out of
        # the pool for good: LISTEN belongs to one session and must not be handed to a request.
        raw = self.engine.raw_connection()
        connection: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        raw.detach()
        connection.rollback()
        connection.autocommit = True
        return connection

    def _run(self) -> None:
        backoff = self.backoff_initial_s
        while not self._stop.is_set():
            try:
                connection = self._connect()
            except Exception as exc:  # the thread must outlive anything: the feed depends on it
                log.warning("live feed: cannot connect to listen (%s); retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            try:
                channel = CHANNEL
                with self.engine.connect() as sql:
                    channel = channel_name(sql)
                quoted = channel.replace('"', '""')
                connection.execute(f'LISTEN "{quoted}"')  # type: ignore[arg-type]
                with self._changed:
                    self.backend_pid = connection.info.backend_pid
                    self.connections += 1
                    self._changed.notify_all()
                if self.connections > 1:
                    log.info("live feed: listening again on %s", channel)
                backoff = self.backoff_initial_s
                while not self._stop.is_set():
                    # Returns after the timeout, so a stop is noticed within it.
                    for notification in connection.notifies(timeout=0.5):
                        self._deliver(notification.payload)
            except Exception as exc:  # a lost connection (psycopg.OperationalError) above all
                if self._stop.is_set():
                    break
                log.warning("live feed: listener connection lost (%s); reconnecting in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
            finally:
                self.backend_pid = None
                connection.close()

    def _deliver(self, payload: str) -> None:
        if not len(self.hub):
            return  # nobody watches on this replica: no read-back
        try:
            ids, earliest, latest = parse_payload(payload)
        except ValueError as exc:
            log.warning("live feed: ignored a notification: %s", exc)
            return
        columns = [getattr(Event, name) for name in _SUMMARY_COLUMNS]
        try:
            with Session(self.engine) as session:
                rows = {
                    row["event_id"]: dict(row)
                    for row in session.execute(
                        select(*columns).where(
                            Event.event_id.in_(ids), Event.captured_at.between(earliest, latest)
                        )
                    ).mappings()
                }
        except SQLAlchemyError as exc:
            log.warning("live feed: could not read %d notified events back: %s", len(ids), exc)
            return
        self.hub.publish([rows[event_id] for event_id in ids if event_id in rows])
