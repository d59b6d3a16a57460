"""The outbox publisher against a real Mosquitto: nothing is marked synced without central's receipt."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from pathlib import Path

import pytest
from sync_helpers import DEVICE, SITE, Subscriber, edge_config, fill, make_event, wait_until

from common.messages import DeviceStats, DeviceStatus, decode_message
from common.topics import device_topic
from edge.store.store import EventStore
from edge.sync import Backoff, SyncPublisher
from edge.sync.outbox import Outbox, OutboxItem
from provisioning.local_broker import LocalBroker

pytestmark = pytest.mark.broker

EVENTS = device_topic(SITE, DEVICE, "events")
STATUS = device_topic(SITE, DEVICE, "status")


def received_ids(subscriber: Subscriber) -> list[uuid.UUID]:
    return [uuid.UUID(json.loads(payload)["event_id"]) for payload in subscriber.payloads()]


class GatedOutbox:
    """The store as the publisher's outbox, hiding new events while the gate is shut, so a test
    can make several events appear to the publisher at once."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.shut = threading.Event()

    def pending(
        self, limit: int, newest_first: bool = False, exclude: Collection[Hashable] = ()
    ) -> Sequence[OutboxItem]:
        return [] if self.shut.is_set() else self.store.pending(limit, newest_first, exclude)  # type: ignore[arg-type]

    def mark_synced(self, event_ids: Iterable[Hashable]) -> int:
        return self.store.mark_synced(event_ids)  # type: ignore[arg-type]

    def pending_count(self) -> int:
        return self.store.pending_count()


def make_publisher(broker: LocalBroker, store: Outbox, **mqtt: object) -> SyncPublisher:
    return SyncPublisher(
        edge_config(broker, **mqtt),
        store,
        agent_version="test",
        backoff=Backoff(initial_s=0.05, max_s=0.5),
        idle_poll_s=0.02,
    )


def test_zero_loss_across_two_graceful_broker_restarts(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    subscriber = subscribe(EVENTS, confirm=True)
    events = fill(store, 0, 300)
    publisher = make_publisher(broker, store)
    publisher.start()
    try:
        for restart in range(2):
            wait_until(lambda: publisher.counters().acked >= 100, 20, "the first PUBACKs")
            broker.restart()
            # Events keep arriving while the broker is down: they wait in the outbox.
            events += fill(store, 300 + 200 * restart, 200)
            wait_until(lambda: publisher.counters().connected, 20, "the reconnect")
        wait_until(lambda: store.pending_count() == 0, 30, "the outbox to drain")
        wait_until(lambda: set(received_ids(subscriber)) >= {e.event_id for e in events}, 20, "delivery")
    finally:
        publisher.stop()
    counters = publisher.counters()
    assert counters.reconnects == 2
    assert counters.acked >= len(events)  # a re-sent event may be acknowledged twice
    assert counters.published == counters.acked + counters.rejected
    assert {e.event_id for e in events} == set(received_ids(subscriber))


def test_the_puback_window_fills_and_stops_when_the_broker_freezes(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    """A frozen broker takes the packets but acknowledges nothing: the window fills and stops."""
    subscribe(EVENTS, confirm=True)
    fill(store, 0, 50)
    outbox = GatedOutbox(store)
    publisher = make_publisher(broker, outbox, max_inflight=8)
    publisher.start()
    try:
        # A window part full rightly waits for PUBACKs (refills come in half-window chunks), so
        # the window can only fill if it starts empty and the new events appear all at once:
        # freeze once the first 50 are through, and show the next 10 only when all are stored.
        wait_until(lambda: store.pending_count() == 0, 20, "the first events to be acknowledged")
        broker.pause()
        outbox.shut.set()
        fill(store, 50, 10)
        outbox.shut.clear()
        wait_until(lambda: publisher.counters().inflight == 8, 30, "a full window")
        counters = publisher.counters()
        assert counters.published - counters.acked == 8  # never more than the window outstanding
        assert store.pending_count() >= 8
        broker.resume()
        wait_until(lambda: store.pending_count() == 0, 20, "the outbox to drain")
    finally:
        broker.resume()
        publisher.stop()
    assert publisher.counters().window == 8


def test_live_events_overtake_a_backlog(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    subscriber = subscribe(EVENTS, confirm=True)
    fill(store, 0, 500)  # the backlog left by an outage
    publisher = make_publisher(broker, store, max_inflight=10)
    publisher.start()
    try:
        wait_until(lambda: len(subscriber.payloads()) >= 50, 20, "the catch-up to start")
        live = make_event(10_000)
        # Counted when it is stored, at the publisher: the subscriber's copy lags behind it.
        published_before = publisher.counters().published
        store.add(live)
        wait_until(lambda: live.event_id in received_ids(subscriber), 10, "the live event")
        position = received_ids(subscriber).index(live.event_id)
        wait_until(lambda: store.pending_count() == 0, 30, "the backlog to drain")
    finally:
        publisher.stop()
    # Oldest-first only would put it after all 500; alternation sends it in the next refill or
    # two: after the 10 in flight and a window or two of the backlog.
    assert published_before < 400, "the backlog drained before the live event came: nothing tested"
    assert position < published_before + 60
    received = received_ids(subscriber)
    backlog_order = [i for i in received if i != live.event_id]
    assert len(set(backlog_order)) == 500


def test_status_is_retained_online_then_offline_on_clean_stop(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    publisher = make_publisher(broker, store)
    publisher.start()
    wait_until(lambda: publisher.counters().connected, 10, "the connection")
    late = subscribe(STATUS, "late-joiner")  # retained: a late subscriber still learns the state
    wait_until(lambda: len(late.payloads()) == 1, 5, "the retained status")
    online = decode_message(DeviceStatus, late.payloads()[0])
    assert (online.state, online.reason, online.agent_version) == ("online", "connected", "test")
    publisher.stop()
    wait_until(lambda: len(late.payloads()) == 2, 5, "the offline status")
    offline = decode_message(DeviceStatus, late.payloads()[1])
    assert (offline.state, offline.reason) == ("offline", "shutdown")
    assert not publisher.counters().connected


def test_last_will_says_connection_lost_when_the_device_vanishes(
    broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from sync_helpers import edge_config
        from edge.sync import SyncPublisher
        from edge.store.store import EventStore
        import os, tempfile, types
        store = EventStore(tempfile.mkdtemp() + "/e.db", os.urandom(32))
        broker = types.SimpleNamespace(host={broker.host!r}, port={broker.port})
        publisher = SyncPublisher(edge_config(broker, keepalive_s=5), store, agent_version="child")
        publisher.start()
        while not publisher.counters().connected:
            time.sleep(0.01)
        print("connected", flush=True)
        time.sleep(60)
        """
    )
    status = subscribe(STATUS)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path.cwd())
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"connected"
        wait_until(lambda: len(status.payloads()) >= 1, 5, "the online status")
        child.kill()  # no DISCONNECT packet: the broker must publish the Will
        wait_until(lambda: len(status.payloads()) >= 2, 10, "the Last Will")
    finally:
        child.kill()
        child.wait()
    will = decode_message(DeviceStatus, status.payloads()[-1])
    assert (will.state, will.reason, will.agent_version) == ("offline", "connection-lost", "child")


def test_stats_are_published_periodically(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    stats_topic = device_topic(SITE, DEVICE, "stats")
    subscriber = subscribe(stats_topic)
    subscribe(EVENTS, "central", confirm=True)
    fill(store, 0, 5)
    publisher = make_publisher(broker, store, stats_interval_s=0.2)
    publisher.start()
    try:
        wait_until(lambda: len(subscriber.payloads()) >= 3, 10, "three stats messages")
        wait_until(lambda: store.pending_count() == 0, 10, "the outbox to drain")
        wait_until(
            lambda: decode_message(DeviceStats, subscriber.payloads()[-1]).confirmed == 5,
            5,
            "stats with the acks",
        )
    finally:
        publisher.stop()
    last = decode_message(DeviceStats, subscriber.payloads()[-1])
    assert (last.site_id, last.device_id, last.outbox_pending, last.published) == (SITE, DEVICE, 0, 5)
    assert publisher.counters().stats_sent >= 3


def test_reconnect_backs_off_while_the_broker_is_down(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    subscribe(EVENTS, confirm=True)
    publisher = make_publisher(broker, store)
    broker.stop()
    publisher.start()
    try:
        wait_until(lambda: publisher.counters().connect_failures >= 3, 10, "failed connects")
        failures = publisher.counters().connect_failures
        assert failures < 20  # 0.05 s doubling to 0.5 s: a handful of tries, not a busy loop
        assert "failed" in (publisher.counters().last_error or "")
        fill(store, 0, 20)
        broker.start()
        wait_until(lambda: store.pending_count() == 0, 10, "the outbox to drain after the broker is back")
    finally:
        publisher.stop()
    assert publisher.counters().reconnects == 0  # the first successful connect is not a reconnect


def test_the_window_respects_the_brokers_receive_maximum(tmp_path: Path, store: EventStore) -> None:
    with LocalBroker(tmp_path / "small-broker", max_inflight_messages=7) as small:
        publisher = make_publisher(small, store, max_inflight=50)
        publisher.start()
        try:
            wait_until(lambda: publisher.counters().connected, 10, "the connection")
            assert publisher.counters().window == 7 - 2  # two slots stay free for status and acks
        finally:
            publisher.stop()
