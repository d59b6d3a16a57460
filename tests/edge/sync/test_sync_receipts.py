"""Central's receipts, not the broker's PUBACK, take an event out of the outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from sync_helpers import DEVICE, SITE, Subscriber, edge_config, fill, wait_until

from common.topics import device_topic
from edge.store.store import EventStore
from edge.sync import Backoff, SyncPublisher
from edge.sync.receipts import Confirmations, ReceiptTracker
from provisioning.local_broker import LocalBroker

pytestmark = pytest.mark.broker

EVENTS = device_topic(SITE, DEVICE, "events")


def make_publisher(broker: LocalBroker, store: EventStore, **mqtt: object) -> SyncPublisher:
    return SyncPublisher(
        edge_config(broker, **mqtt), store, agent_version="test",
        backoff=Backoff(initial_s=0.05, max_s=0.5), idle_poll_s=0.02,
    )


def ids_of(subscriber: Subscriber) -> list[uuid.UUID]:
    return [uuid.UUID(json.loads(payload)["event_id"]) for payload in subscriber.payloads()]


def test_a_pubacked_event_stays_pending_until_central_confirms_it(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    central = subscribe(EVENTS)  # receives, but confirms nothing yet
    events = fill(store, 0, 10)
    publisher = make_publisher(broker, store, receipt_timeout_s=60)
    publisher.start()
    try:
        wait_until(lambda: publisher.counters().acked == 10, 10, "the PUBACKs")
        wait_until(lambda: len(central.payloads()) == 10, 10, "delivery")
        assert store.pending_count() == 10  # the broker has them; central has not said so
        assert publisher.counters().unconfirmed == 10
        central.confirm([e.event_id for e in events[:4]])
        wait_until(lambda: store.pending_count() == 6, 10, "the receipt to be applied")
        central.confirm([e.event_id for e in events[4:]])
        wait_until(lambda: store.pending_count() == 0, 10, "the second receipt")
    finally:
        publisher.stop()
    counters = publisher.counters()
    assert (counters.confirmed, counters.unconfirmed, counters.receipt_timeouts) == (10, 0, 0)
    assert len(central.payloads()) == 10  # nothing was sent twice


def test_an_unconfirmed_event_is_sent_again_after_the_timeout_with_backoff(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    central = subscribe(EVENTS)  # a central that is down: the broker takes everything, nobody confirms
    [event] = fill(store, 0, 1)
    publisher = make_publisher(broker, store, receipt_timeout_s=0.3, receipt_timeout_max_s=0.6)
    publisher.start()
    try:
        wait_until(lambda: ids_of(central).count(event.event_id) >= 3, 10, "three sends")
        assert store.pending_count() == 1
        central.confirming.set()  # central is back: the next send is confirmed
        wait_until(lambda: store.pending_count() == 0, 10, "the receipt")
    finally:
        publisher.stop()
    assert publisher.counters().receipt_timeouts >= 3


def test_a_conflict_receipt_ends_the_resends_and_is_counted(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    central = subscribe(EVENTS)
    [event] = fill(store, 0, 1)
    publisher = make_publisher(broker, store, receipt_timeout_s=60)
    publisher.start()
    try:
        wait_until(lambda: len(central.payloads()) == 1, 10, "delivery")
        central.confirm([], conflicts=[event.event_id])
        wait_until(lambda: store.pending_count() == 0, 10, "the conflict receipt")
    finally:
        publisher.stop()
    assert publisher.counters().conflicts == 1


def test_sends_stop_at_max_unconfirmed_while_central_is_silent(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    central = subscribe(EVENTS)
    events = fill(store, 0, 30)
    publisher = make_publisher(broker, store, receipt_timeout_s=60, max_unconfirmed=12, max_inflight=4)
    publisher.start()
    try:
        wait_until(lambda: publisher.counters().unconfirmed == 12, 10, "the unconfirmed limit")
        assert publisher.counters().published == 12
        # The broker's PUBACK to the device can come before its delivery to us: wait for all 12.
        wait_until(lambda: len(central.payloads()) == 12, 10, "the 12 events at central")
        central.confirm([uuid.UUID(json.loads(p)["event_id"]) for p in central.payloads()])
        central.confirming.set()
        wait_until(lambda: store.pending_count() == 0, 20, "the rest after the receipts")
    finally:
        publisher.stop()
    assert set(ids_of(central)) == {e.event_id for e in events}


def test_the_tracker_doubles_the_wait_per_try_up_to_the_cap() -> None:
    tracker = ReceiptTracker(timeout_s=1.0, max_timeout_s=3.0)
    tracker.sent("a", now=0.0)
    assert tracker.expired(0.99) == [] and tracker.expired(1.0) == ["a"]
    tracker.sent("a", now=1.0)  # second try waits 2 s
    assert tracker.expired(2.9) == [] and tracker.expired(3.0) == ["a"]
    tracker.sent("a", now=3.0)  # third try: 4 s capped at 3 s
    assert tracker.next_deadline() == 6.0
    tracker.confirm(["a"])
    assert tracker.expired(100.0) == [] and len(tracker) == 0
    tracker.sent("a", now=100.0)  # a confirmed event starts over
    assert tracker.next_deadline() == 101.0


def test_a_receipt_that_overtakes_the_puback_of_a_resend_ends_the_wait() -> None:
    confirmations = Confirmations(timeout_s=1.0, max_timeout_s=4.0, flush_s=0.05)
    confirmations.acknowledged("a", now=0.0)
    assert confirmations.tracker.expired(1.0) == ["a"]  # no receipt in time: "a" is sent again
    confirmations.receipt(["a"], in_flight={"a"}, now=1.5)  # the first copy's receipt comes late
    confirmations.acknowledged("a", now=1.6)  # PUBACK of the re-send
    assert len(confirmations) == 0 and confirmations.tracker.next_deadline() is None
    assert confirmations.due(force=False, batch=10, now=1.52) == []  # batched for a moment
    assert confirmations.due(force=False, batch=10, now=1.56) == ["a"]
    assert confirmations.busy() == set()
