"""Gate decisions in the store: sealed at rest, an outbox of their own, retention keeps unsynced ones."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.gates import DecisionMatch, GateDecision, OutputResult
from common.plates.reading import PlateReading
from edge.store import DuplicateEventError, EventStore, StoreCorruptError

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
