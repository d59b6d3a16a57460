"""Gate decisions in the store: sealed at rest, an outbox of their own, retention keeps unsynced ones."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.gates import DecisionMatch, GateDecision, OutputResult
from common.plates.reading import PlateReading
from edge.store import DuplicateEventError, EventStore, StoreCorruptError, StoreFullError
from edge.store.decisions import DecisionSink

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)


def decision(plate: str = "A123BC77", at: datetime = AT) -> GateDecision:
    return GateDecision(
        site_id="site-1",
        device_id="edge1",
        gate_id="north",
        channel_id="cam1",
        track_id=4,
        plate=PlateReading(text=plate, latin=plate, confidence=0.93, valid=True),
        action="open",
        rule="allow-list",
        alert=False,
        matches=(DecisionMatch(list_id="staff", list_name="Staff", kind="allow", plate=plate, mode="exact"),),
        watchlist_version=3,
        captured_at=at,
        decided_at=at + timedelta(milliseconds=40),
        outputs=(OutputResult(name="http", type="http", ok=True, attempts=1, sent_at=at),),
        latency_ms=42.0,
        crop_jpeg=b"\xff\xd8fake-jpeg\xff\xd9",
    )


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return EventStore(tmp_path / "events.db", os.urandom(32), synchronous="NORMAL")


def test_decisions_are_sealed_and_read_back(store: EventStore, tmp_path: Path) -> None:
    made = decision()
    store.decisions.add(made)
    assert store.decisions.recent() == [made]
    store.close()
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("events.db*"))
    assert b"A123BC77" not in raw and b"fake-jpeg" not in raw


def test_outbox_of_decisions(store: EventStore) -> None:
    first, second = decision(at=AT), decision("B777OP99", at=AT + timedelta(seconds=1))
    store.decisions.add(first)
    store.decisions.add(second)
    pending = store.decisions.pending(10)
    assert [item.event_id for item in pending] == [first.decision_id, second.decision_id]
    assert GateDecision.model_validate_json(pending[0].payload) == first
    assert store.decisions.mark_synced([first.decision_id]) == 1
    assert store.decisions.pending_count() == 1
    assert store.pending_count() == 0  # events have their own outbox


def test_duplicate_decision_is_refused(store: EventStore) -> None:
    made = decision()
    store.decisions.add(made)
    with pytest.raises(DuplicateEventError):
        store.decisions.add(made)


def test_retention_deletes_only_synced_old_decisions(store: EventStore) -> None:
    old_synced, old_unsynced = (
        decision(at=AT - timedelta(days=40)),
        decision("B1", at=AT - timedelta(days=40)),
    )
    store.decisions.add(old_synced)
    store.decisions.add(old_unsynced)
    store.decisions.mark_synced([old_synced.decision_id])
    store.enforce_retention(AT)
    assert [d.decision_id for d in store.decisions.recent()] == [old_unsynced.decision_id]


def test_a_tampered_decision_is_detected(store: EventStore) -> None:
    first, second = decision(), decision("B777OP99")
    store.decisions.add(first)
    store.decisions.add(second)
    conn = store._conn  # the test plays an attacker who swaps sealed rows
    rows = conn.execute("SELECT decision_id, sealed FROM decisions").fetchall()
    conn.execute("UPDATE decisions SET sealed = ? WHERE decision_id = ?", (rows[1][1], rows[0][0]))
    with pytest.raises(StoreCorruptError):
        store.decisions.recent()
    # The outbox skips the bad row (kept on disk, never sent) and goes on with the good one.
    assert [item.event_id for item in store.decisions.pending(10)] == [second.decision_id]
    assert store.decisions.unreadable == {str(first.decision_id)}
    assert store.decisions.pending_count() == 2


def test_the_outbox_skips_excluded_decisions(store: EventStore) -> None:
    made = [decision(at=AT + timedelta(seconds=index)) for index in range(4)]
    for item in made:
        store.decisions.add(item)
    busy = {made[0].decision_id, made[3].decision_id}
    pending = store.decisions.pending(10, exclude=busy)
    assert [item.event_id for item in pending] == [d.decision_id for d in made[1:3]]
    newest = store.decisions.pending(1, newest_first=True, exclude={made[3].decision_id})
    assert [item.event_id for item in newest] == [made[2].decision_id]


def test_a_full_disk_holds_decisions_and_writes_them_when_space_returns(tmp_path: Path) -> None:
    store = EventStore(
        tmp_path / "full.db",
        os.urandom(32),
        synchronous="NORMAL",
        size_limit_mb=0.3,
        max_disk_mb=0.1,
        retention_days=1,
    )
    old = AT - timedelta(days=10)
    filler: list[GateDecision] = []
    for size in (20_000, 2_000, 200):  # fill the disk with old decisions, ever smaller ones last
        with pytest.raises(StoreFullError):
            for _ in range(10_000):
                made = decision(at=old).model_copy(update={"crop_jpeg": os.urandom(size)})
                store.decisions.add(made)
                filler.append(made)
                store.decisions.mark_synced([made.decision_id])  # central has it
    sink = DecisionSink(store.decisions)
    crop = {"crop_jpeg": os.urandom(4_000)}  # more than the little room left
    waiting = [decision("C001CC01").model_copy(update=crop), decision("C002CC02").model_copy(update=crop)]
    for made in waiting:
        sink.emit(made)
    assert list(sink.held) == waiting and sink.lost == 0  # refused, held in order
    store.enforce_retention(AT)  # old synced decisions go: room again
    assert sink.retry() == 0
    stored = {d.decision_id for d in store.decisions.recent(limit=10)}
    assert {d.decision_id for d in waiting} <= stored
    store.close()
