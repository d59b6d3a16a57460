"""Retention: old events go, the store keeps to its disk quota, and nothing unsynced is lost."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from common.events import PlateEvent
from edge.store import EventStore

MIB = 1024 * 1024


def _fill(db_path: Path, key: bytes, event, jpeg, t0, synced_images: bool = True) -> list[PlateEvent]:
    """20 older synced events, then 20 newer unsynced ones; 5 KB crop and 1 KB thumbnail each."""
    events = []
    with EventStore(db_path, key, synchronous="NORMAL") as store:
        for i in range(40):
            with_images = i >= 20 or synced_images
            e = event(
                captured_at=t0 + timedelta(minutes=i),
                crop=jpeg(5000, seed=i) if with_images else None,
                thumbnail=jpeg(1000, seed=i + 100) if with_images else None,
            )
            store.add(e)
            events.append(e)
        store.mark_synced(e.event_id for e in events[:20])
    return events


def _live_bytes(db_path: Path, key: bytes) -> int:
    with EventStore(db_path, key) as store:
        return store.disk_usage()[0]


def test_age_limit_deletes_old_synced_events_and_keeps_old_unsynced_ones(
    store: EventStore, event, t0, caplog: pytest.LogCaptureFixture
) -> None:
    now = t0 + timedelta(days=40)
    old_synced, old_unsynced, recent = event(captured_at=t0), event(captured_at=t0), event(captured_at=now)
    for e in (old_synced, old_unsynced, recent):
        store.add(e)
    store.mark_synced([old_synced.event_id, recent.event_id])
    with caplog.at_level(logging.WARNING, logger="edge.store"):
        report = store.enforce_retention(now=now)
    assert report.expired_events_deleted == 1
    assert report.expired_unsynced_kept == 1
    assert {e.event_id for e in store.query()} == {old_unsynced.event_id, recent.event_id}
    assert "1 unsynced events are older than the retention period" in caplog.text
    assert store.stats.events_expired == 1 and store.stats.expired_unsynced_kept == 1


def test_age_limit_follows_retention_days(db_path: Path, master_key: bytes, event, t0) -> None:
    with EventStore(db_path, master_key, retention_days=0.5, synchronous="NORMAL") as store:
        events = [event(captured_at=t0 + timedelta(hours=h)) for h in (0, 6, 13, 20)]
        for e in events:
            store.add(e)
        store.mark_synced(e.event_id for e in events)
        report = store.enforce_retention(now=t0 + timedelta(hours=24))
        assert report.expired_events_deleted == 2
        assert [e.event_id for e in store.query()] == [events[3].event_id, events[2].event_id]


def test_quota_drops_images_of_synced_events_first(db_path: Path, master_key: bytes, event, jpeg, t0) -> None:
    events = _fill(db_path, master_key, event, jpeg, t0)
    quota = _live_bytes(db_path, master_key) - 60_000  # about ten synced events' images
    with EventStore(db_path, master_key, max_disk_mb=quota / MIB) as store:
        report = store.enforce_retention(now=t0)
        assert report.bytes_before > quota >= report.bytes_after
        assert not report.quota_unmet
        assert report.quota_events_deleted == 0 and report.quota_unsynced_images_deleted == 0
        assert 8 <= report.quota_images_deleted <= 24
        assert store.count() == 40
        assert store.get(events[0].event_id).crop_jpeg is None  # the oldest synced lost its images
        assert store.get(events[19].event_id).crop_jpeg == events[19].crop_jpeg
        for e in events[20:]:
            assert store.get(e.event_id) == e


def test_quota_drops_synced_events_before_touching_unsynced_ones(
    db_path: Path, master_key: bytes, event, jpeg, t0
) -> None:
    events = _fill(db_path, master_key, event, jpeg, t0, synced_images=False)
    quota = _live_bytes(db_path, master_key) - 6_000
    with EventStore(db_path, master_key, max_disk_mb=quota / MIB) as store:
        report = store.enforce_retention(now=t0)
        assert quota >= report.bytes_after
        assert 1 <= report.quota_events_deleted < 20
        remaining = {e.event_id for e in store.query(limit=100)}
        deleted = [e.event_id for e in events[:20] if e.event_id not in remaining]
        assert deleted == [e.event_id for e in events[: len(deleted)]]  # oldest first
        for e in events[20:]:
            assert store.get(e.event_id) == e
        assert store.stats.events_evicted_for_quota == report.quota_events_deleted


def test_quota_never_drops_unsynced_events_and_raises_an_alarm(
    db_path: Path, master_key: bytes, event, jpeg, t0, caplog: pytest.LogCaptureFixture
) -> None:
    events = _fill(db_path, master_key, event, jpeg, t0)
    with EventStore(db_path, master_key) as before:
        files_before = before.disk_usage()[1]
    with EventStore(db_path, master_key, max_disk_mb=0.01) as store:
        with caplog.at_level(logging.WARNING, logger="edge.store"):
            report = store.enforce_retention(now=t0)
        assert report.quota_unmet
        assert report.quota_events_deleted == 20  # every synced event went
        assert report.quota_unsynced_images_deleted == 40  # then the unsynced events' crops and thumbnails
        assert report.unsynced_events == 20
        assert store.count() == 20 and store.pending_count() == 20
        for item, original in zip(store.pending(100), events[20:], strict=True):
            sent = PlateEvent.from_json(item.payload)
            assert sent == original.model_copy(update={"crop_jpeg": None, "thumbnail_jpeg": None})
        assert store.stats.quota_alarms == 1
        assert store.disk_usage()[1] < files_before / 3  # freed pages went back to the filesystem
    alarms = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(alarms) == 1 and "ALARM" in alarms[0].getMessage() and "20" in alarms[0].getMessage()
    assert "dropped 40 images of unsynced events" in caplog.text


def test_a_store_within_quota_loses_nothing(store: EventStore, event, jpeg, t0) -> None:
    events = [event(captured_at=t0 + timedelta(minutes=i), crop=jpeg(5000)) for i in range(5)]
    for e in events:
        store.add(e)
    store.mark_synced(e.event_id for e in events)
    report = store.enforce_retention(now=t0 + timedelta(days=1))
    assert (report.expired_events_deleted, report.quota_images_deleted, report.quota_events_deleted) == (
        0,
        0,
        0,
    )
    assert not report.quota_unmet
    assert all(store.get(e.event_id) == e for e in events)
