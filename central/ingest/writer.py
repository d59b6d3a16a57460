"""Write decoded messages to the database, one transaction per batch.

Events are inserted with ON CONFLICT DO NOTHING on the event id, so a message redelivered after
a crash (we ack only after commit) is stored once. A message whose id is stored already is
compared with the stored row: the same content is a re-send (confirmed again), different content
is a conflict (dead-lettered as "conflict", and confirmed so the device stops sending it). The
batch result says which events to confirm to which device (central.ingest.receipts). Gate
decisions are inserted once by decision id and confirmed in the same receipts.
If a batch fails on a row the decoder could not foresee, the batch is retried message by
message and the culprit goes to the dead letters. A database that is down raises: the caller
keeps the messages unacknowledged and retries.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, and_, case, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError, StatementError
from sqlalchemy.orm import Session

from central import live_notify, metrics, rollup
from central.db.models import (
    Channel,
    DeadLetter,
    Device,
    DeviceConfig,
    Event,
    EventImage,
    GateDecisionRow,
    WatchlistPushRow,
)
from central.db.partitions import create_partitions, is_partitioned, month_of
from central.db.partitions import event_ids as ids_table
from central.ingest.decode import (
    AckRecord,
    DecisionRecord,
    Decoded,
    EffectiveRecord,
    EventRecord,
    Rejected,
    StatsRecord,
    StatusRecord,
    WatchlistAckRecord,
    reject,
)
from central.ingest.pg_bulk import insert_unnest
from central.ingest.receipts import CONTENT_FIELDS, Receipts, differing_fields, same_content
from common.messages import ConfigAck, DeviceStats, DeviceStatus, EffectiveConfig

# Device news: applied to the device's row rather than stored as rows of their own.
DeviceNews = StatusRecord | StatsRecord | AckRecord | EffectiveRecord
# Errors caused by the data of one row, as opposed to the database being unreachable.
ROW_ERRORS = (DataError, IntegrityError, ProgrammingError, StatementError)


@dataclass
class BatchResult:
    stored: list[dict[str, Any]] = field(default_factory=list)  # rows of newly stored events
    decisions: list[DecisionRecord] = field(default_factory=list)  # newly stored gate decisions
    duplicates: int = 0
    applied: int = 0  # status, stats and acks
    dead: list[Rejected] = field(default_factory=list)
    receipts: Receipts = field(default_factory=Receipts)  # events and decisions committed, per device

    def merge(self, other: BatchResult) -> None:
        self.stored.extend(other.stored)
        self.decisions.extend(other.decisions)
        self.duplicates += other.duplicates
        self.applied += other.applied
        self.dead.extend(other.dead)
        self.receipts.merge(other.receipts)


def _later(column: Any, value: Any) -> Any:
    """SQL for max(column, excluded value) that treats NULL as 'earliest', portable to both dialects."""
    return case((column.is_(None), value), (value > column, value), else_=column)


class IngestWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._dialect = postgresql if self._postgres else sqlite
        self._partitioned: bool | None = None  # PostgreSQL after migration 0005; checked on first use
        self._months: set[date] = set()  # months known to have a partition (or left to the default)
        self._channel: str | None = None  # the live feed's NOTIFY channel (central.live_notify)

    def write(self, batch: Sequence[Decoded]) -> BatchResult:
        """Store a batch; returns what happened to each message. Raises only if the database is down."""
        started = time.perf_counter()
        if self._postgres:
            self._ensure_partitions(batch)
        try:
            with Session(self.engine) as session, session.begin():
                result = self._write(session, batch)
        except ROW_ERRORS:
            result = BatchResult()
            for item in batch:
                result.merge(self._write_alone(item))
        metrics.INGEST_BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.INGEST_BATCH_SIZE.observe(len(batch))
        metrics.EVENTS_STORED.inc(len(result.stored))
        metrics.EVENTS_DUPLICATE.inc(result.duplicates)
        for dead in result.dead:
            metrics.DEAD_LETTERS.labels(dead.kind).inc()
        return result

    def _ensure_partitions(self, batch: Sequence[Decoded]) -> None:
        """Create the monthly partitions a batch needs, in a short transaction of their own (the
        maintenance pass creates them ahead; this covers a month it has not reached)."""
        months = {month_of(item.row["captured_at"]) for item in batch if isinstance(item, EventRecord)}
        missing = months - self._months
        if not missing:
            return
        with self.engine.begin() as connection:
            if self._partitioned is None:
                self._partitioned = is_partitioned(connection)
            if self._partitioned:
                create_partitions(connection, missing)
        # A month that could not get its own partition is served by the default one: not retried
        # for every batch (the maintenance pass logs it again).
        self._months |= missing

    def _write_alone(self, item: Decoded) -> BatchResult:
        try:
            with Session(self.engine) as session, session.begin():
                return self._write(session, [item])
        except ROW_ERRORS as exc:
            topic, payload = _origin(item)
            dead = reject(
                topic, "db_rejected", f"database refused the message: {type(exc).__name__}", payload
            )
            with Session(self.engine) as session, session.begin():
                self._insert_dead(session, [dead], datetime.now(UTC))
            return BatchResult(dead=[dead])

    def _write(self, session: Session, batch: Sequence[Decoded]) -> BatchResult:
        now = datetime.now(UTC)
        result = BatchResult()
        events = [item for item in batch if isinstance(item, EventRecord)]
        dead = [item for item in batch if isinstance(item, Rejected)]
        others = [item for item in batch if isinstance(item, DeviceNews)]
        decisions = [item for item in batch if isinstance(item, DecisionRecord)]
        watchlist_acks = [item for item in batch if isinstance(item, WatchlistAckRecord)]

        if events:
            stored_ids = self._insert_events(session, events)
            known = self._stored_content(session, {e.row["event_id"] for e in events} - stored_ids)
            # One event id can appear twice in a batch: the first copy is the one stored.
            first: dict[Any, dict[str, Any]] = {}
            for record in events:
                event_id = record.row["event_id"]
                if event_id in stored_ids and event_id not in first:
                    first[event_id] = record.row
                    result.stored.append(record.row)
                    result.receipts.add(record.row)
                    continue
                reference = first.get(event_id) or known.get(event_id)
                if reference is None or same_content(record.row, reference):
                    result.duplicates += 1
                    result.receipts.add(record.row)
                    continue
                changed = ", ".join(differing_fields(record.row, reference))
                topic = f"anpr/v1/{record.row['site_id']}/{record.row['device_id']}/events"
                reason = f"event {event_id} is already stored with different content ({changed})"
                dead.append(reject(topic, "conflict", reason, record.payload or repr(record.row).encode()))
                result.receipts.add(record.row, conflict=True)
            rollup.add_events(session, result.stored)
            self._upsert_channels(session, events)
            if self._postgres and result.stored:
                # Delivered to every replica's listener when (and only if) this transaction commits.
                if self._channel is None:
                    self._channel = live_notify.channel_name(session.connection())
                live_notify.notify(session.connection(), self._channel, result.stored)
        # Device rows are shared by every batch: lock them last so concurrent writers wait briefly.
        self._upsert_devices(session, batch, now)
        # Superseded status/stats messages count as applied: the newer one carries their news.
        updates = [item for item in others if not isinstance(item, AckRecord)]
        for item in _latest_per_device(updates):
            self._apply(session, item)
        acks = [item for item in others if isinstance(item, AckRecord)]
        refused = self._apply_acks(session, acks, now) if acks else []
        if decisions:
            result.decisions = self._insert_decisions(session, decisions)
            result.duplicates += len(decisions) - len(result.decisions)
            for record in decisions:  # new or stored before: either way the box may let it go
                result.receipts.add_decision(record.row)
        refused_lists = self._apply_watchlist_acks(session, watchlist_acks, now) if watchlist_acks else []
        result.applied = len(others) + len(watchlist_acks) - len(refused) - len(refused_lists)
        dead.extend(refused)
        dead.extend(refused_lists)
        self._insert_dead(session, dead, now)
        result.dead = dead
        return result

    def _stored_content(self, session: Session, event_ids: set[Any]) -> dict[Any, dict[str, Any]]:
        """The content columns of already stored events, to tell a re-send from a conflict."""
        if not event_ids:
            return {}
        columns = [getattr(Event, name) for name in ("event_id", *CONTENT_FIELDS)]
        ids = sorted(event_ids)
        if self._postgres:
            # Through the id registry: its capture time picks the one partition to look in.
            registry = ids_table.c
            same = and_(registry.event_id == Event.event_id, registry.captured_at == Event.captured_at)
            query = select(*columns).join(ids_table, same).where(registry.event_id.in_(ids))
        else:
            query = select(*columns).where(Event.event_id.in_(ids))
        return {row.event_id: dict(row._mapping) for row in session.execute(query)}

    def _insert_events(self, session: Session, events: list[EventRecord]) -> set[Any]:
        # Sorted ids: two writers inserting overlapping batches take row locks in one order.
        rows = sorted({e.row["event_id"]: e.row for e in events}.values(), key=lambda row: row["event_id"])
        if self._postgres:
            # Claim the ids in the registry first (unique across months); only claimed ones are new.
            claims = [{"event_id": row["event_id"], "captured_at": row["captured_at"]} for row in rows]
            stored = set(insert_unnest(session, ids_table, claims, "event_id", returning="event_id"))
            new_rows = [row for row in rows if row["event_id"] in stored]
            insert_unnest(session, Event.__table__, new_rows, None)
        else:
            statement = self._dialect.insert(Event).on_conflict_do_nothing(index_elements=["event_id"])
            stored = set(session.scalars(statement.returning(Event.event_id), rows).all())
        images = {
            e.row["event_id"]: {
                "event_id": e.row["event_id"],
                "crop_jpeg": e.crop_jpeg,
                "thumbnail_jpeg": e.thumbnail_jpeg,
            }
            for e in events
            if e.row["event_id"] in stored and (e.crop_jpeg is not None or e.thumbnail_jpeg is not None)
        }
        if images and self._postgres:
            insert_unnest(session, EventImage.__table__, list(images.values()), "event_id")
        elif images:
            statement = self._dialect.insert(EventImage).on_conflict_do_nothing(index_elements=["event_id"])
            session.execute(statement.returning(EventImage.event_id), list(images.values()))
        return stored

    def _upsert_devices(self, session: Session, batch: Sequence[Decoded], now: datetime) -> None:
        devices: dict[str, dict[str, Any]] = {}
        for item in batch:
            if isinstance(item, EventRecord):
                device_id, site_id, event_at = (
                    item.row["device_id"],
                    item.row["site_id"],
                    item.row["captured_at"],
                )
            elif isinstance(item, DeviceNews):
                message = _message_of(item)
                device_id, site_id, event_at = message.device_id, message.site_id, None
            elif isinstance(item, DecisionRecord | WatchlistAckRecord):
                news = item.decision if isinstance(item, DecisionRecord) else item.ack
                device_id, site_id, event_at = news.device_id, news.site_id, None
            else:
                continue
            entry = devices.setdefault(
                device_id,
                {"device_id": device_id, "site_id": site_id, "last_seen": now, "last_event_at": None},
            )
            entry["site_id"] = site_id
            if event_at is not None and (entry["last_event_at"] is None or event_at > entry["last_event_at"]):
                entry["last_event_at"] = event_at
        if not devices:
            return
        insert = self._dialect.insert(Device)
        excluded = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=["device_id"],
            set_={
                "site_id": excluded.site_id,
                "last_seen": excluded.last_seen,
                "last_event_at": _later(Device.last_event_at, excluded.last_event_at),
            },
        )
        # Sorted keys: concurrent replicas lock device rows in one order, never deadlocking.
        session.execute(statement.returning(Device.device_id), [devices[key] for key in sorted(devices)])

    def _upsert_channels(self, session: Session, events: list[EventRecord]) -> None:
        latest: dict[tuple[str, str], datetime] = {}
        for record in events:
            key = (record.row["device_id"], record.row["channel_id"])
            at = record.row["captured_at"]
            if key not in latest or at > latest[key]:
                latest[key] = at
        insert = self._dialect.insert(Channel)
        statement = insert.on_conflict_do_update(
            index_elements=["device_id", "channel_id"],
            set_={"last_event_at": _later(Channel.last_event_at, insert.excluded.last_event_at)},
        )
        rows = [
            {"device_id": d, "channel_id": c, "last_event_at": at} for (d, c), at in sorted(latest.items())
        ]
        session.execute(statement.returning(Channel.device_id), rows)

    def _apply(self, session: Session, item: StatusRecord | StatsRecord | EffectiveRecord) -> None:
        if isinstance(item, EffectiveRecord):
            report = item.effective
            session.execute(
                update(Device)
                .where(Device.device_id == report.device_id)
                # A retained report delivered again after a newer one must not replace it.
                .where(Device.effective_config_at.is_(None) | (Device.effective_config_at <= report.at))
                .values(
                    effective_config=report.config,
                    effective_config_hash=report.hash,
                    effective_config_version=report.version,
                    effective_config_at=report.at,
                    config_version=report.version,
                )
            )
            return
        if isinstance(item, StatusRecord):
            status = item.status
            session.execute(
                update(Device)
                .where(Device.device_id == status.device_id)
                .values(
                    status=status.state,
                    status_at=status.at,
                    status_detail=status.model_dump(mode="json"),
                    config_version=status.config_version or Device.config_version,
                )
            )
            return
        stats = item.stats
        session.execute(
            update(Device)
            .where(Device.device_id == stats.device_id)
            .values(
                stats=stats.model_dump(mode="json"),
                stats_at=stats.at,
                config_version=stats.config_version or Device.config_version,
            )
        )

    def _apply_acks(self, session: Session, acks: list[AckRecord], now: datetime) -> list[Rejected]:
        keys = {(item.ack.device_id, item.ack.version) for item in acks}
        configs = {
            (row.device_id, row.version): row
            for row in session.scalars(
                select(DeviceConfig).where(
                    tuple_(DeviceConfig.device_id, DeviceConfig.version).in_(sorted(keys))
                )
            )
        }
        dead: list[Rejected] = []
        running: dict[str, int] = {}
        for item in acks:
            ack = item.ack
            target = configs.get((ack.device_id, ack.version))
            if target is None:
                topic = f"anpr/v1/{ack.site_id}/{ack.device_id}/config/ack"
                reason = f"ack for config version {ack.version} that central never pushed"
                dead.append(reject(topic, "unknown_config", reason, ack.to_json()))
                continue
            # A stale ack (the retained push seen again) must not hide an earlier "applied".
            if not (ack.outcome == "stale" and target.ack_outcome == "applied"):
                target.ack_accepted = ack.accepted
                target.ack_outcome = ack.outcome
                target.ack_reason = ack.reason
                target.ack_applied_at = ack.applied_at
                target.ack_received_at = now
            running[ack.device_id] = ack.running_version
        for device_id, version in sorted(running.items()):
            session.execute(
                update(Device).where(Device.device_id == device_id).values(config_version=version)
            )
        return dead

    def _insert_decisions(self, session: Session, records: list[DecisionRecord]) -> list[DecisionRecord]:
        """Insert decisions once (redeliveries are dropped by id); returns the newly stored ones."""
        unique = {record.row["decision_id"]: record for record in records}
        insert = self._dialect.insert(GateDecisionRow)
        statement = insert.on_conflict_do_nothing(index_elements=["decision_id"])
        rows = [unique[key].row for key in sorted(unique)]
        stored = set(session.scalars(statement.returning(GateDecisionRow.decision_id), rows).all())
        return [unique[key] for key in sorted(unique) if key in stored]

    def _apply_watchlist_acks(
        self, session: Session, acks: list[WatchlistAckRecord], now: datetime
    ) -> list[Rejected]:
        dead: list[Rejected] = []
        for item in acks:
            ack = item.ack
            target = session.get(WatchlistPushRow, (ack.device_id, ack.version))
            if target is None:
                topic = f"anpr/v1/{ack.site_id}/{ack.device_id}/watchlists/ack"
                reason = f"ack for watchlist version {ack.version} that central never pushed"
                dead.append(reject(topic, "unknown_config", reason, ack.to_json()))
                continue
            if not (ack.outcome == "stale" and target.ack_outcome == "applied"):
                target.ack_outcome = ack.outcome
                target.ack_reason = ack.reason
                target.ack_received_at = now
            target.ack_running_version = ack.running_version
        return dead

    def _insert_dead(self, session: Session, dead: list[Rejected], now: datetime) -> None:
        if dead:
            session.execute(
                DeadLetter.__table__.insert().returning(DeadLetter.id),
                [
                    {
                        "received_at": now,
                        "topic": d.topic,
                        "kind": d.kind,
                        "reason": d.reason,
                        "payload": d.payload,
                    }
                    for d in dead
                ],
            )


def _origin(item: Decoded) -> tuple[str, bytes]:
    """Topic and payload to keep in the dead letters for a message the database refused."""
    if isinstance(item, Rejected):
        return item.topic, item.payload
    if isinstance(item, EventRecord):
        row = item.row
        return f"anpr/v1/{row['site_id']}/{row['device_id']}/events", repr(row).encode()
    if isinstance(item, DecisionRecord):
        return f"anpr/v1/{item.decision.site_id}/{item.decision.device_id}/decisions", item.decision.to_json()
    if isinstance(item, WatchlistAckRecord):
        return f"anpr/v1/{item.ack.site_id}/{item.ack.device_id}/watchlists/ack", item.ack.to_json()
    message = _message_of(item)
    return f"anpr/v1/{message.site_id}/{message.device_id}", message.to_json()


Latest = StatusRecord | StatsRecord | EffectiveRecord


def _latest_per_device(items: list[Latest]) -> list[Latest]:
    """Only the last status, stats and config report of each device in a batch matter."""
    last: dict[tuple[str, str], Latest] = {}
    for item in items:
        last[(type(item).__name__, _message_of(item).device_id)] = item
    return list(last.values())


def _message_of(item: DeviceNews) -> DeviceStatus | DeviceStats | ConfigAck | EffectiveConfig:
    if isinstance(item, EffectiveRecord):
        return item.effective
    if isinstance(item, StatusRecord):
        return item.status
    if isinstance(item, StatsRecord):
        return item.stats
    return item.ack
