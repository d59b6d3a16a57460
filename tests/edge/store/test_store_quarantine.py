"""A row that fails authentication is quarantined: the outbox and listings go on without it."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from edge.observability.metrics import AgentState, EdgeMetrics
from edge.store import EventStore, StoreCorruptError


def _flip_a_bit(db_path: Path, event_id: str, table: str = "events", column: str = "sealed_event") -> None:
    with sqlite3.connect(db_path) as raw:
        query = f"SELECT {column} FROM {table} WHERE event_id = ?"
        sealed = bytearray(raw.execute(query, (event_id,)).fetchone()[0])
        sealed[len(sealed) // 2] ^= 0x04
        raw.execute(f"UPDATE {table} SET {column} = ? WHERE event_id = ?", (bytes(sealed), event_id))


def test_one_flipped_bit_does_not_stop_the_outbox(
    store: EventStore, db_path: Path, event, t0, caplog: pytest.LogCaptureFixture
) -> None:
    events = [event(text=f"А{i:03d}ВС77", captured_at=t0 + timedelta(seconds=i)) for i in range(32)]
    for e in events:
        store.add(e)
    broken = events[5]
    _flip_a_bit(db_path, str(broken.event_id))
    caplog.set_level(logging.ERROR, logger="edge.store")
    synced = 0
    while (batch := store.pending(10)) and synced < 100:  # the publisher's loop: page, mark, repeat
        synced += store.mark_synced(item.event_id for item in batch)
    assert synced == 31
    assert store.pending_count() == 0
    assert store.quarantined_count() == 1 and store.stats.events_quarantined == 1
    assert f"event {broken.event_id} moved to quarantine" in caplog.text
    assert "А005ВС77" not in caplog.text and "A005BC77" not in caplog.text  # no plate in the log
    with pytest.raises(StoreCorruptError, match="quarantine"):
        store.get(broken.event_id)
    assert len(store.query(limit=100)) == 31


def test_a_corrupt_image_quarantines_its_event_with_the_sealed_bytes_kept(
    store: EventStore, db_path: Path, event, jpeg
) -> None:
    good, bad = event(text="А111АА11", crop=jpeg(400)), event(text="В222ВВ22", crop=jpeg(400, seed=4))
    store.add(good)
    store.add(bad)
    _flip_a_bit(db_path, str(bad.event_id), table="images", column="sealed")
    assert [item.event_id for item in store.pending(10, newest_first=True)] == [good.event_id]
    with sqlite3.connect(db_path) as raw:
        left = raw.execute("SELECT count(*) FROM images WHERE event_id = ?", (str(bad.event_id),)).fetchone()
        assert left[0] == 0
        kept = raw.execute("SELECT event_id, reason FROM quarantine").fetchall()
        assert [row[0] for row in kept] == [str(bad.event_id)] and "failed authentication" in kept[0][1]
        assert raw.execute("SELECT count(*) FROM quarantine_images").fetchone()[0] == 1


def test_pending_skips_excluded_ids_without_opening_them(store: EventStore, db_path: Path, event, t0) -> None:
    events = [event(captured_at=t0 + timedelta(seconds=i)) for i in range(6)]
    for e in events:
        store.add(e)
    _flip_a_bit(db_path, str(events[0].event_id))  # excluded, so never decrypted, so not quarantined
    items = store.pending(2, exclude={events[0].event_id, str(events[1].event_id)})
    assert [item.event_id for item in items] == [events[2].event_id, events[3].event_id]
    assert store.quarantined_count() == 0


def test_the_quarantine_counter_is_a_metric(store: EventStore, db_path: Path, event) -> None:
    first, second = event(), event(text="Е456КМ99")
    store.add(first)
    store.add(second)
    _flip_a_bit(db_path, str(first.event_id))
    store.query()
    metrics = EdgeMetrics(CollectorRegistry())
    metrics.watch(lambda: AgentState(channels=[], held_events=0, store=store.stats))
    text = generate_latest(metrics.registry).decode()
    assert "anpr_store_events_quarantined_total 1.0" in text


def test_retention_deletes_quarantined_rows_after_the_retention_period(
    store: EventStore, db_path: Path, event, jpeg, t0
) -> None:
    broken = event(crop=jpeg(300))
    store.add(broken)
    _flip_a_bit(db_path, str(broken.event_id))
    store.query()
    assert store.quarantined_count() == 1
    assert store.enforce_retention().quarantined_deleted == 0  # quarantined just now: kept
    later = datetime.now(UTC) + timedelta(days=store.retention_days + 1)
    assert store.enforce_retention(now=later).quarantined_deleted == 1
    assert store.quarantined_count() == 0
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT count(*) FROM quarantine_images").fetchone()[0] == 0
