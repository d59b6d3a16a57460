"""The catch-up order: newest and oldest alternate, busy events are skipped, nothing is offered twice."""

from __future__ import annotations

from collections.abc import Sequence

from sync_helpers import fill

from common.events import PlateEvent
from edge.store.store import EventStore
from edge.sync import CatchUpScheduler, OutboxItem


def indexes(store_events: list[PlateEvent], batch: Sequence[OutboxItem]) -> list[int]:
    position = {event.event_id: index for index, event in enumerate(store_events)}
    return [position[item.event_id] for item in batch]


def test_a_short_queue_goes_newest_first(store: EventStore) -> None:
    events = fill(store, 0, 5)
    batch = CatchUpScheduler(store).next_batch(10, busy=set())
    assert indexes(events, batch) == [4, 3, 2, 1, 0]


def test_a_backlog_alternates_newest_and_oldest(store: EventStore) -> None:
    events = fill(store, 0, 100)
    batch = CatchUpScheduler(store).next_batch(6, busy=set())
    assert indexes(events, batch) == [99, 0, 98, 1, 97, 2]
    assert batch[0].payload == events[99].to_json()  # exactly what central will receive


def test_busy_events_are_skipped_at_both_ends(store: EventStore) -> None:
    events = fill(store, 0, 100)
    busy = {events[i].event_id for i in (99, 98, 0)}
    batch = CatchUpScheduler(store).next_batch(4, busy=busy)
    assert indexes(events, batch) == [97, 1, 96, 2]


def test_the_backlog_page_never_offers_an_event_twice(store: EventStore) -> None:
    events = fill(store, 0, 300)
    scheduler = CatchUpScheduler(store, backlog_page=50)
    seen: list[int] = []
    while len(seen) < 300:
        batch = scheduler.next_batch(10, busy=set())
        assert batch, "the scheduler ran dry with events pending"
        seen += indexes(events, batch)
        store.mark_synced([item.event_id for item in batch])  # acknowledged at once
    assert sorted(seen) == list(range(300))
    assert scheduler.next_batch(10, busy=set()) == []


def test_new_live_events_are_picked_up_during_a_catch_up(store: EventStore) -> None:
    events = fill(store, 0, 100)
    scheduler = CatchUpScheduler(store, backlog_page=50)
    first = scheduler.next_batch(4, busy=set())
    store.mark_synced([item.event_id for item in first])
    events += fill(store, 100, 1)  # a car at the gate
    assert indexes(events, scheduler.next_batch(2, busy=set()))[0] == 100
