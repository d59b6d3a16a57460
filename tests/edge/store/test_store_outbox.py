"""The outbox: every stored event waits, as the exact MQTT payload, until the broker acknowledges it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from common.events import PlateEvent
from edge.store import EventStore, OutboxItem


def test_a_new_event_is_pending_with_its_json_as_payload(store: EventStore, event, jpeg) -> None:
    original = event(crop=jpeg(2000), thumbnail=jpeg(700, seed=5))
    store.add(original)
    assert store.pending_count() == 1
    [item] = store.pending(10)
    assert item == OutboxItem(original.event_id, original.to_json())
    assert PlateEvent.from_json(item.payload) == original


def test_pending_is_oldest_first_unless_newest_first(store: EventStore, event, t0) -> None:
    events = [event(captured_at=t0 + timedelta(seconds=s)) for s in (30, 10, 20, 0)]
    for e in events:
        store.add(e)
    by_time = sorted(events, key=lambda e: e.captured_at)
    assert [i.event_id for i in store.pending(10)] == [e.event_id for e in by_time]
    assert [i.event_id for i in store.pending(2, newest_first=True)] == [
        e.event_id for e in by_time[::-1][:2]
    ]
    with pytest.raises(ValueError, match="limit"):
        store.pending(0)


def test_mark_synced_takes_events_out_of_the_outbox(store: EventStore, event, t0) -> None:
    events = [event(captured_at=t0 + timedelta(seconds=s)) for s in range(5)]
    for e in events:
        store.add(e)
    assert store.mark_synced([events[0].event_id, str(events[2].event_id)]) == 2
    assert store.mark_synced([events[0].event_id]) == 0  # a repeated broker ack changes nothing
    assert store.pending_count() == 3
    assert [i.event_id for i in store.pending(10)] == [events[i].event_id for i in (1, 3, 4)]
    assert store.count() == 5  # synced events stay searchable until retention removes them
    assert store.get(events[0].event_id) == events[0]
    assert store.stats.events_synced == 2


def test_mark_synced_ignores_unknown_ids_and_rejects_garbage(store: EventStore, event) -> None:
    store.add(event())
    assert store.mark_synced([event().event_id]) == 0
    assert store.mark_synced([]) == 0
    with pytest.raises(ValueError, match="not an event id"):
        store.mark_synced(["42"])
    assert store.pending_count() == 1


def test_mark_synced_handles_more_ids_than_one_sql_statement_takes(store: EventStore, event, t0) -> None:
    events = [event(captured_at=t0 + timedelta(milliseconds=i)) for i in range(1200)]
    for e in events:
        store.add(e)
    assert store.mark_synced(e.event_id for e in events) == 1200
    assert store.pending_count() == 0


def test_the_outbox_survives_a_restart(db_path, master_key: bytes, event) -> None:
    first, second = event(), event()
    with EventStore(db_path, master_key) as store:
        store.add(first)
        store.add(second)
        store.mark_synced([first.event_id])
    with EventStore(db_path, master_key) as store:
        assert [i.event_id for i in store.pending(10)] == [second.event_id]
