"""Retention: old events (their images first), their hourly counts, gate decisions, dead letters and
audit entries are deleted.

Plates are personal data: central keeps them only as long as configured (`retention` in the
config, per site where a site needs its own). Images go before their events (a crop identifies
more than a plate string), so `images_days` is usually shorter than `events_days`; an event whose
images were deleted stays searchable with `has_crop` false. Gate decisions carry a plate and a
crop too: they follow their site's `events_days` (by decided_at) and lose the crop after
`images_days`, counted as `decisions` and `images`.

Deletes run in batches of `batch_size` rows per transaction, so a first pass over a large backlog
never holds long locks against ingest. Running on several replicas at once is harmless (a row
deleted twice is deleted once), but one replica is enough.

On PostgreSQL, where `events` is partitioned by capture month (central.db.partitions), a month
older than every site's `events_days` is dropped whole; only the months after it that are expired
for some sites and not others, and rows in the default partition, are deleted row by row. The
event-id registry of dropped months is then cleared in batches (narrow rows; the images go with
it). Each pass also creates the partitions of the current month and the next ones ahead of ingest.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, select, true, update
from sqlalchemy.orm import Session

from central import metrics
from central.config import RetentionSettings
from central.db import partitions
from central.db.models import AuditEntry, DeadLetter, Event, EventHourly, EventImage, GateDecisionRow

log = logging.getLogger(__name__)


def _site_groups(
    settings: RetentionSettings, site_column: Any = Event.site_id
) -> list[tuple[ColumnElement[bool], float | None, float | None]]:
    """(which rows, events_days, images_days): each overridden site, then all other sites."""
    groups = [(site_column == site, *settings.for_site(site)) for site in settings.sites]
    others = site_column.not_in(list(settings.sites)) if settings.sites else true()
    groups.append((others, settings.events_days, settings.images_days))
    return groups


class Retention:
    def __init__(self, engine: Engine, settings: RetentionSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._partitioned: bool | None = None

    @property
    def partitioned(self) -> bool:
        if self._partitioned is None:
            with self.engine.connect() as connection:
                self._partitioned = partitions.is_partitioned(connection)
        return self._partitioned

    def _in_batches(self, step: Callable[[Session], int]) -> int:
        """Run `step` (deletes up to one batch, returns how many) in its own transaction until it
        finds nothing more."""
        total = 0
        while True:
            with Session(self.engine) as session, session.begin():
                done = step(session)
            total += done
            if done < self.settings.batch_size:
                return total

    def _strip_images(self, which: ColumnElement[bool], cutoff: datetime) -> int:
        def step(session: Session) -> int:
            ids = list(
                session.scalars(
                    select(EventImage.event_id)
                    .join(Event, Event.event_id == EventImage.event_id)
                    .where(which, Event.captured_at < cutoff)
                    .limit(self.settings.batch_size)
                )
            )
            if ids:
                session.execute(delete(EventImage).where(EventImage.event_id.in_(ids)))
                # The capture-time bound lets PostgreSQL look only in the partitions concerned.
                session.execute(
                    update(Event)
                    .where(Event.event_id.in_(ids), Event.captured_at < cutoff)
                    .values(has_crop=False)
                )
            return len(ids)

        return self._in_batches(step)

    def _delete_events(self, which: ColumnElement[bool], cutoff: datetime) -> int:
        def step(session: Session) -> int:
            ids = list(
                session.scalars(
                    select(Event.event_id)
                    .where(which, Event.captured_at < cutoff)
                    .limit(self.settings.batch_size)
                )
            )
            if ids:
                session.execute(delete(EventImage).where(EventImage.event_id.in_(ids)))
                session.execute(delete(Event).where(Event.event_id.in_(ids), Event.captured_at < cutoff))
                if self.partitioned:
                    session.execute(delete(partitions.event_ids).where(partitions.event_ids.c.event_id.in_(ids)))
            return len(ids)

        return self._in_batches(step)

    def _drop_partitions(self, cutoff: datetime) -> int:
        """Drop the monthly partitions wholly before `cutoff` (expired for every site); returns
        their rows. One transaction per partition: a short exclusive lock on `events` each."""
        dropped = 0
        with self.engine.connect() as connection:
            months = partitions.monthly_partitions(connection)
        for month, name in sorted(months.items()):
            if partitions.month_start(partitions.add_months(month, 1)) > cutoff:
                break
            with self.engine.begin() as connection:
                rows = partitions.drop_partition(connection, name)
            log.info("retention dropped partition %s (%d events)", name, rows)
            dropped += rows
        return dropped

    def _delete_expired_ids(self, cutoff: datetime) -> int:
        """Registry rows of events captured before `cutoff`, expired for every site (their month's
        partition is dropped); their images go with them (ON DELETE CASCADE)."""
        ids = partitions.event_ids.c

        def step(session: Session) -> int:
            batch = select(ids.event_id).where(ids.captured_at < cutoff).limit(self.settings.batch_size)
            statement = delete(partitions.event_ids).where(ids.event_id.in_(batch.scalar_subquery()))
            result = session.execute(statement)
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._in_batches(step)

    def maintain_partitions(self, now: datetime) -> None:
        """Partitions for the current month and the next ones, before ingest needs them."""
        with self.engine.begin() as connection:
            partitions.create_partitions(connection, partitions.months_ahead(now))

    def _delete_hours(self, which: ColumnElement[bool], cutoff: datetime) -> int:
        """Hourly counts (event_hourly) of hours wholly before `cutoff`: their events are gone, so
        the dashboard agrees with the search. The hour the cutoff falls in goes at a later pass."""
        last_hour = cutoff - timedelta(hours=1)

        def step(session: Session) -> int:
            hours = list(
                session.scalars(
                    select(EventHourly.hour)
                    .where(which, EventHourly.hour <= last_hour)
                    .order_by(EventHourly.hour)
                    .limit(self.settings.batch_size)
                )
            )
            if not hours:
                return 0
            # Whole hours at a time: at least the batch, and every camera of its last hour.
            result = session.execute(delete(EventHourly).where(which, EventHourly.hour <= hours[-1]))
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._in_batches(step)

    def _strip_decision_crops(self, which: ColumnElement[bool], cutoff: datetime) -> int:
        def step(session: Session) -> int:
            ids = list(
                session.scalars(
                    select(GateDecisionRow.decision_id)
                    .where(which, GateDecisionRow.decided_at < cutoff, GateDecisionRow.crop_jpeg.is_not(None))
                    .limit(self.settings.batch_size)
                )
            )
            if ids:
                session.execute(
                    update(GateDecisionRow).where(GateDecisionRow.decision_id.in_(ids)).values(crop_jpeg=None)
                )
            return len(ids)

        return self._in_batches(step)

    def _delete_rows(
        self, id_column: Any, time_column: Any, cutoff: datetime, which: ColumnElement[bool] | None = None
    ) -> int:
        def step(session: Session) -> int:
            condition = time_column < cutoff if which is None else (which & (time_column < cutoff))
            ids = list(
                session.scalars(select(id_column).where(condition).limit(self.settings.batch_size))
            )
            if ids:
                session.execute(delete(id_column.class_).where(id_column.in_(ids)))
            return len(ids)

        return self._in_batches(step)

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """One pass; returns rows deleted per kind (events, images, event_hours, decisions, dead_letters,
        audit)."""
        now = now or datetime.now(UTC)
        deleted: Counter[str] = Counter()
        groups = _site_groups(self.settings)
        # Every site's events are expired before this (None: some site keeps them forever).
        ages = [days for _which, days, _images in groups if days is not None]
        expired_everywhere = now - timedelta(days=max(ages)) if len(ages) == len(groups) else None
        if self.partitioned:
            self.maintain_partitions(now)
            if expired_everywhere is not None:
                deleted["events"] += self._drop_partitions(expired_everywhere)
        for which, events_days, images_days in groups:
            # Expired events first (their images with them), so images are not stripped in vain.
            if events_days is not None:
                deleted["events"] += self._delete_events(which, now - timedelta(days=events_days))
            if images_days is not None:
                deleted["images"] += self._strip_images(which, now - timedelta(days=images_days))
        if self.partitioned and expired_everywhere is not None:
            self._delete_expired_ids(expired_everywhere)
        for which, events_days, _images_days in _site_groups(self.settings, EventHourly.site_id):
            if events_days is not None:
                deleted["event_hours"] += self._delete_hours(which, now - timedelta(days=events_days))
        for which, events_days, images_days in _site_groups(self.settings, GateDecisionRow.site_id):
            if events_days is not None:
                cutoff = now - timedelta(days=events_days)
                deleted["decisions"] += self._delete_rows(
                    GateDecisionRow.decision_id, GateDecisionRow.decided_at, cutoff, which
                )
            if images_days is not None:
                cutoff = now - timedelta(days=images_days)
                deleted["images"] += self._strip_decision_crops(which, cutoff)
        if self.settings.dead_letters_days is not None:
            cutoff = now - timedelta(days=self.settings.dead_letters_days)
            deleted["dead_letters"] += self._delete_rows(DeadLetter.id, DeadLetter.received_at, cutoff)
        if self.settings.audit_days is not None:
            cutoff = now - timedelta(days=self.settings.audit_days)
            deleted["audit"] += self._delete_rows(AuditEntry.id, AuditEntry.at, cutoff)
        kinds = ("events", "images", "event_hours", "decisions", "dead_letters", "audit")
        result = {kind: deleted[kind] for kind in kinds}
        for kind, count in result.items():
            metrics.RETENTION_DELETED.labels(kind).inc(count)
        return result


class RetentionWorker:
    """Runs retention passes in a thread: the first `first_pass_after_s` after start, then every
    `interval_s`. A failed pass (database down) is logged and retried at the next interval."""

    def __init__(self, retention: Retention) -> None:
        self.retention = retention
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._passed = threading.Condition()
        self.passes = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait_for_passes(self, count: int, timeout: float) -> bool:
        """True once `count` passes have finished (failed ones included), False on timeout."""
        with self._passed:
            return self._passed.wait_for(lambda: self.passes >= count, timeout)

    def _run(self) -> None:
        settings = self.retention.settings
        wait = settings.first_pass_after_s
        while not self._stop.wait(wait):
            try:
                deleted = self.retention.run_once()
            except Exception:
                log.exception("retention pass failed; next try in %.0f s", settings.interval_s)
            else:
                if any(deleted.values()):
                    log.info("retention deleted %s", ", ".join(f"{n} {k}" for k, n in deleted.items()))
            with self._passed:
                self.passes += 1
                self._passed.notify_all()
            wait = settings.interval_s
