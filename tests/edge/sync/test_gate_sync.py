"""Gate decisions travel to central like events (kept until central's receipt names them);
watchlist pushes reach the box, even when pushed while it was offline (retained), and are
acknowledged."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from sync_helpers import DEVICE, SITE, Subscriber, edge_config, fill, wait_until

from common.gates import GateDecision
from common.messages import WatchlistAck, WatchlistPush
from common.plates.reading import PlateReading
from common.topics import device_topic
from common.watchlists import WatchlistIndex, empty_bundle
from edge.store.store import EventStore
from edge.sync import Backoff, SyncPublisher, WatchlistApplier
from provisioning.local_broker import LocalBroker

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)


def decision(index: int) -> GateDecision:
    return GateDecision(
        site_id=SITE,
        device_id=DEVICE,
        gate_id="north",
        channel_id="cam1",
        track_id=index,
        plate=PlateReading(text=f"A{index:03d}BC77", latin=f"A{index:03d}BC77", confidence=0.9, valid=True),
        action="closed",
        rule="unknown-closed",
        alert=False,
        watchlist_version=0,
        captured_at=AT + timedelta(seconds=index),
        decided_at=AT + timedelta(seconds=index),
    )


def publisher_for(
    broker: LocalBroker, store: EventStore, applier: WatchlistApplier | None = None
) -> SyncPublisher:
    return SyncPublisher(
        edge_config(broker),
        store,
        agent_version="test",
        backoff=Backoff(initial_s=0.05, max_s=0.5),
        idle_poll_s=0.02,
        decision_outbox=store.decisions,
        watchlist_applier=applier,
        client_id=f"gate-sync-{uuid.uuid4().hex[:8]}",
    )


def test_decisions_and_events_are_both_delivered(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    decisions_sub = subscribe(
        device_topic(SITE, DEVICE, "decisions"), f"dec-{uuid.uuid4().hex[:8]}", confirm=True
    )
    events_sub = subscribe(device_topic(SITE, DEVICE, "events"), f"ev-{uuid.uuid4().hex[:8]}", confirm=True)
    made = [decision(i) for i in range(5)]
    for item in made:
        store.decisions.add(item)
    fill(store, 0, 5)
    publisher = publisher_for(broker, store)
    publisher.start()
    try:
        wait_until(
            lambda: store.decisions.pending_count() == 0 and store.pending_count() == 0, 10, "all synced"
        )
    finally:
        publisher.stop()
    got = {GateDecision.model_validate_json(p).decision_id for p in decisions_sub.payloads()}
    assert got == {d.decision_id for d in made}
    assert len(set(events_sub.payloads())) == 5


def test_a_decision_stays_in_the_store_until_a_receipt_names_it(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    decisions_sub = subscribe(device_topic(SITE, DEVICE, "decisions"), f"dec-{uuid.uuid4().hex[:8]}")
    made = [decision(i) for i in range(3)]
    for item in made:
        store.decisions.add(item)
    publisher = publisher_for(broker, store)
    publisher.start()
    try:
        wait_until(lambda: len(decisions_sub.payloads()) >= 3, 10, "the decisions at the broker")
        # The broker has them (PUBACK), central has not confirmed them: nothing leaves the store.
        wait_until(lambda: publisher.counters().unconfirmed == 3, 10, "three decisions awaiting receipts")
        assert store.decisions.pending_count() == 3
        # A receipt naming the ids as events confirms nothing: decisions have their own list.
        decisions_sub.confirm([made[0].decision_id])
        decisions_sub.confirm([], decisions=[made[1].decision_id])
        wait_until(lambda: store.decisions.pending_count() == 2, 10, "the confirmed decision marked synced")
        assert {item.event_id for item in store.decisions.pending(10)} == {
            made[0].decision_id, made[2].decision_id
        }
        decisions_sub.confirm([], decisions=[made[0].decision_id, made[2].decision_id])
        wait_until(lambda: store.decisions.pending_count() == 0, 10, "all decisions marked synced")
    finally:
        publisher.stop()


def test_a_watchlist_pushed_while_the_box_was_offline_arrives_on_connect(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    acks = subscribe(device_topic(SITE, DEVICE, "watchlists/ack"), f"ack-{uuid.uuid4().hex[:8]}")
    bundle = {
        "version": 7,
        "site_id": SITE,
        "lists": [{"list_id": "staff", "name": "Staff", "kind": "allow", "entries": [{"plate": "A123BC77"}]}],
    }
    push = WatchlistPush(version=7, bundle=bundle, issued_at=datetime.now(UTC), issued_by="oscar")
    central = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"central-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    central.connect(broker.host, broker.port)
    central.loop_start()
    central.publish(
        device_topic(SITE, DEVICE, "watchlists"), push.to_json(), qos=1, retain=True
    ).wait_for_publish(5)
    central.loop_stop()
    central.disconnect()

    used: list[WatchlistIndex] = []
    applier = WatchlistApplier(
        SITE, DEVICE, tmp_path / "watchlists.json", WatchlistIndex(empty_bundle(SITE)), used.append
    )
    publisher = publisher_for(broker, store, applier)
    publisher.start()
    try:
        wait_until(lambda: bool(acks.payloads()), 10, "the watchlist ack")
    finally:
        publisher.stop()
    ack = WatchlistAck.model_validate_json(acks.payloads()[0])
    assert (ack.outcome, ack.version, ack.entries) == ("applied", 7, 1)
    assert used[0].match("A123BC77", AT) and (tmp_path / "watchlists.json").exists()
