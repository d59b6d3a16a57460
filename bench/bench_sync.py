"""Edge -> broker sync under outages: QoS 1 throughput, catch-up time, loss and duplicate counts.

    .venv/bin/python bench/bench_sync.py                 # 10,000 events, broker restarted 3 times
    .venv/bin/python bench/bench_sync.py --events 2000 --restarts 1 --kill

Three phases, each against a private Mosquitto (persistence on) and a real encrypted EventStore:
  1. throughput   the whole outbox (N events) published with the broker up: events/s with QoS 1
  2. outages      a producer adds N events at --rate while the broker is stopped (SIGTERM) and
                  started --restarts times, down --down-s each; --kill makes the last one SIGKILL
  3. catch-up     a backlog of N events left by an outage drained while live events keep coming:
                  total drain time and the delay of the live events
  4. central      like 2, with central's real MQTT ingest (central/ingest, SQLite) in a child
                  process beside the subscriber; central is killed (SIGKILL) and restarted once
                  mid-run; at the end central's database must hold exactly N distinct events

The subscriber stands in for central's ingest: a persistent-session QoS 1 subscriber that counts
distinct event ids and confirms them (an EventReceipt every 10 ms, as central does after each
commit). "lost" = events marked synced in the store but never received.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import EdgeConfig, MqttConfig
from common.events import ModelVersions, PlateEvent
from common.messages import MAX_RECEIPT_EVENTS, EventReceipt
from common.plates.reading import PlateReading
from common.topics import device_topic
from edge.store.store import EventStore
from edge.sync import Backoff, SyncPublisher
from provisioning.local_broker import LocalBroker

SITE, DEVICE = "bench-site", "bench-edge"
T0 = datetime(2026, 11, 28, tzinfo=UTC)


def make_event(index: int) -> PlateEvent:
    at = T0 + timedelta(milliseconds=index)
    return PlateEvent(
        site_id=SITE,
        device_id=DEVICE,
        channel_id="cam1",
        captured_at=at,
        first_seen=at,
        last_seen=at,
        plate=PlateReading(
            confidence=0.9, text=f"А{index % 1000:03d}ВС77", latin=f"A{index % 1000:03d}BC77", valid=True),
        confidence=0.9,
        box=(10, 20, 110, 45),
        frames=3,
        crop_jpeg=os.urandom(1500),  # about the size of a real plate crop
        models=ModelVersions(detector="det", reader="ocr"),
    )


class Counter:
    """Central's stand-in: distinct event ids received, with arrival times; confirms what it got."""

    def __init__(self, broker: LocalBroker, client_id: str, confirm: bool = True) -> None:
        self.confirm = confirm
        self.arrived: dict[uuid.UUID, float] = {}
        self.received = 0
        self._lock = threading.Lock()
        self._to_confirm: list[uuid.UUID] = []
        self._closed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(
            device_topic(SITE, DEVICE, "events"), qos=1
        )
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.5)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect(broker.host, broker.port, clean_start=False, properties=properties)
        self.client.loop_start()
        self._confirmer = threading.Thread(target=self._confirm_loop, daemon=True)
        self._confirmer.start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        event_id = uuid.UUID(json.loads(message.payload)["event_id"])
        with self._lock:
            self.received += 1
            self.arrived.setdefault(event_id, time.monotonic())
            if self.confirm:
                self._to_confirm.append(event_id)

    def _confirm_loop(self) -> None:
        topic = device_topic(SITE, DEVICE, "receipts")
        while not self._closed.wait(0.01):
            with self._lock:
                batch = self._to_confirm[:MAX_RECEIPT_EVENTS]
                del self._to_confirm[:MAX_RECEIPT_EVENTS]
            if batch:
                receipt = EventReceipt(site_id=SITE, device_id=DEVICE, at=datetime.now(UTC), stored=batch)
                self.client.publish(topic, receipt.to_json(), qos=1)

    def distinct(self) -> int:
        with self._lock:
            return len(self.arrived)

    def close(self) -> None:
        self._closed.set()
        self._confirmer.join()
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Run:
    broker: LocalBroker
    store: EventStore
    counter: Counter
    publisher: SyncPublisher

    def close(self) -> None:
        self.publisher.stop()
        self.counter.close()
        self.broker.stop()
        self.store.close()


def start_run(
    workdir: Path, name: str, max_inflight: int, confirm: bool = True, receipt_timeout_s: float = 30.0
) -> Run:
    broker = LocalBroker(workdir / f"{name}-broker")
    broker.start()
    try:
        store = EventStore(workdir / f"{name}.db", os.urandom(32))
        counter = Counter(broker, f"{name}-central", confirm)
    except BaseException:
        broker.stop()
        raise
    config = EdgeConfig(
        site_id=SITE,
        device_id=DEVICE,
        cameras=[],
        mqtt=MqttConfig(
            enabled=True, host=broker.host, port=broker.port, max_inflight=max_inflight,
            receipt_timeout_s=receipt_timeout_s, receipt_timeout_max_s=max(receipt_timeout_s, 60.0),
        ),
    )
    publisher = SyncPublisher(
        config, store, agent_version="bench", backoff=Backoff(0.1, 2.0), idle_poll_s=0.02
    )
    return Run(broker, store, counter, publisher)


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def loss_report(run: Run, events: list[PlateEvent]) -> dict[str, int]:
    wait_for(lambda: run.counter.distinct() >= len(events), 30)
    synced = len(events) - run.store.pending_count()
    received = set(run.counter.arrived)
    lost = sum(1 for e in events if e.event_id not in received)
    return {
        "events": len(events),
        "synced": synced,
        "received_distinct": len(received),
        "received_total": run.counter.received,
        "duplicates": run.counter.received - len(received),
        "lost": lost,
    }


def phase_throughput(workdir: Path, count: int, max_inflight: int) -> None:
    run = start_run(workdir, "throughput", max_inflight)
    try:
        events = [make_event(i) for i in range(count)]
        t = time.monotonic()
        for event in events:
            run.store.add(event)
        add_s = time.monotonic() - t
        t = time.monotonic()
        run.publisher.start()
        wait_for(lambda: run.store.pending_count() == 0, 600)
        drain_s = time.monotonic() - t
        report = loss_report(run, events)
        print(f"[throughput] store.add: {count / add_s:,.0f} events/s (synchronous=FULL)")
        print(
            f"[throughput] {count} events published QoS 1 and marked synced in {drain_s:.2f} s: "
            f"{count / drain_s:,.0f} events/s (window {run.publisher.counters().window})"
        )
        print(f"[throughput] {report}")
    finally:
        run.close()


def phase_outages(
    workdir: Path, count: int, rate: float, restarts: int, down_s: float, kill_last: bool, max_inflight: int
) -> None:
    run = start_run(workdir, "outages", max_inflight)
    events: list[PlateEvent] = []
    run.publisher.start()
    produced = threading.Event()

    def produce() -> None:
        interval = 1.0 / rate
        next_at = time.monotonic()
        for index in range(count):
            event = make_event(index)
            run.store.add(event)
            events.append(event)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        produced.set()

    producer = threading.Thread(target=produce)
    t0 = time.monotonic()
    producer.start()
    duration = count / rate
    catch_ups: list[float] = []
    try:
        for restart in range(restarts):
            time.sleep(duration / (restarts + 1) - down_s)
            kill = kill_last and restart == restarts - 1
            (run.broker.kill if kill else run.broker.stop)()
            time.sleep(down_s)
            run.broker.start()
            back = time.monotonic()
            pending_at_restart = run.store.pending_count()
            # Caught up: the outbox is back to what live traffic keeps in flight.
            wait_for(lambda: run.store.pending_count() <= max(5, rate * 0.1), 120)
            catch_ups.append(time.monotonic() - back)
            print(
                f"[outages] restart {restart + 1} ({'SIGKILL' if kill else 'SIGTERM'}, down {down_s:.1f} s): "
                f"{pending_at_restart} pending when the broker came back, caught up in {catch_ups[-1]:.2f} s"
            )
        producer.join()
        wait_for(lambda: run.store.pending_count() == 0, 120)
        total_s = time.monotonic() - t0
        counters = run.publisher.counters()
        report = loss_report(run, events)
        print(
            f"[outages] {count} events at {rate:.0f}/s with {restarts} broker restarts, all synced after "
            f"{total_s:.1f} s; reconnects {counters.reconnects}, re-sent {counters.retries}, "
            f"connect failures {counters.connect_failures}"
        )
        print(f"[outages] {report}")
    finally:
        run.close()


def phase_catch_up(workdir: Path, backlog: int, live: int, max_inflight: int) -> None:
    run = start_run(workdir, "catchup", max_inflight)
    try:
        for index in range(backlog):
            run.store.add(make_event(index))
        t = time.monotonic()
        run.publisher.start()
        live_added: dict[uuid.UUID, float] = {}
        for index in range(live):  # live traffic during the catch-up, 20 events/s
            time.sleep(0.05)
            event = make_event(backlog + index)
            run.store.add(event)
            live_added[event.event_id] = time.monotonic()
        wait_for(lambda: run.store.pending_count() == 0, 600)
        drain_s = time.monotonic() - t
        wait_for(lambda: all(i in run.counter.arrived for i in live_added), 10)
        delays = sorted(
            run.counter.arrived[i] - at for i, at in live_added.items() if i in run.counter.arrived
        )
        print(
            f"[catch-up] backlog of {backlog} + {live} live events drained in {drain_s:.2f} s "
            f"({(backlog + live) / drain_s:,.0f} events/s)"
        )
        if delays:
            print(
                f"[catch-up] live event delay: median {delays[len(delays) // 2] * 1000:.0f} ms, "
                f"max {delays[-1] * 1000:.0f} ms (oldest-first would wait for the whole backlog)"
            )
    finally:
        run.close()


def central_child(db_path: str, port: int, plain_subscription: bool) -> int:
    """Runs in a child process: central's MQTT ingest into SQLite until SIGTERM."""
    import logging

    from central.config import MqttSettings
    from central.db.engine import make_engine
    from central.ingest.mqtt import MqttIngest
    from central.ingest.writer import IngestWriter

    logging.basicConfig(level=logging.INFO, format="[central child] %(asctime)s %(name)s: %(message)s")
    # Mosquitto 2.0 does not restore $share subscriptions from its persistence file, so with a
    # share group a broker restart drops events until central re-subscribes.
    engine = make_engine(f"sqlite:///{db_path}")
    settings = MqttSettings(
        host="127.0.0.1", port=port, client_id="bench-central", session_expiry_s=3600,
        share_group=None if plain_subscription else "central",
    )
    ingest = MqttIngest(settings, IngestWriter(engine))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ingest.start()
    if ingest.wait_connected(60):
        time.sleep(0.5)  # the SUBSCRIBE went out in on_connect; give the SUBACK a moment
        Path(db_path + ".ready").touch()
    else:
        print("[central child] could not connect to the broker", file=sys.stderr)
    stop.wait()
    ingest.stop()
    engine.dispose()
    return 0


class CentralProcess:
    def __init__(self, db_path: Path, port: int, plain_subscription: bool) -> None:
        self.args = [sys.executable, __file__, "--central-child", str(db_path), "--central-port", str(port)]
        if not plain_subscription:
            self.args.append("--central-shared-subscription")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        ready = Path(self.args[3] + ".ready")
        ready.unlink(missing_ok=True)
        self.process = subprocess.Popen(self.args)
        if not wait_for(ready.exists, timeout):
            raise RuntimeError("central's ingest did not connect and subscribe")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def central_query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    from central.db.engine import make_engine

    engine = make_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql)).fetchall()]
    finally:
        engine.dispose()


def central_count(db_path: Path) -> int:
    return int(central_query(db_path, "SELECT count(DISTINCT event_id) FROM events")[0][0])  # type: ignore[call-overload]


def phase_central(
    workdir: Path,
    count: int,
    rate: float,
    restarts: int,
    down_s: float,
    max_inflight: int,
    plain_subscription: bool,
    kill_broker: bool = False,
    kill_central: bool = True,
    receipt_timeout_s: float = 30.0,
) -> int:
    """Edge -> broker (restarted `restarts` times) -> central (killed once); distinct events stored.

    Only central's receipts take events out of the outbox here (the subscriber just counts).
    kill_broker makes every broker stop a SIGKILL: whatever the broker had not saved is gone, and
    the edge must send it again on the receipt timeout."""
    from central.db.engine import make_engine
    from central.db.migrate import upgrade

    db_path = workdir / "central-server.db"
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    engine.dispose()
    run = start_run(workdir, "edge-central", max_inflight, confirm=False, receipt_timeout_s=receipt_timeout_s)
    central = CentralProcess(db_path, run.broker.port, plain_subscription)
    try:
        central.start()  # connected and subscribed before the first event
    except BaseException:
        central.stop()
        run.close()
        raise
    events: list[PlateEvent] = []
    run.publisher.start()

    def produce() -> None:
        interval, next_at = 1.0 / rate, time.monotonic()
        for index in range(count):
            event = make_event(index)
            run.store.add(event)
            events.append(event)
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    producer = threading.Thread(target=produce)
    t0 = time.monotonic()
    producer.start()
    slot = count / rate / (restarts + 2)
    try:
        for restart in range(restarts):
            time.sleep(max(0.0, slot - down_s))
            (run.broker.kill if kill_broker else run.broker.stop)()
            time.sleep(down_s)
            run.broker.start()
            print(
                f"[central] broker {'SIGKILL' if kill_broker else 'restart'} {restart + 1}: "
                f"{run.store.pending_count()} pending on its return"
            )
            if restart == 0 and kill_central:
                time.sleep(slot / 2)
                central.kill()  # central crashes mid-stream: unacked messages stay in its session
                time.sleep(down_s)
                central.start()
                print("[central] central ingest killed (SIGKILL) and restarted")
        producer.join()
        wait_for(lambda: run.store.pending_count() == 0, 300)
        report = loss_report(run, events)
        stored = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stored = central_count(db_path)
            if stored >= count:
                break
            time.sleep(0.5)
        sync = run.publisher.counters()
        print(
            f"[central] edge: {sync.published} publishes, {sync.acked} PUBACKs, {sync.confirmed} confirmed "
            f"by receipts, {sync.receipt_timeouts} re-sent after a receipt timeout"
        )
        print(
            f"[central] {count} events, {restarts} broker restarts, {int(kill_central)} central kill: "
            "all synced after "
            f"{time.monotonic() - t0:.1f} s; subscriber {report}"
        )
        verdict = "OK" if stored == count else "MISMATCH"
        print(f"[central] central database holds {stored} distinct events of {count}: {verdict}")
        if stored != count:
            dead = central_query(db_path, "SELECT kind, count(*) FROM dead_letters GROUP BY kind")
            print(f"[central] dead letters by kind: {dead}")
            print(run.broker.log_text()[-3000:])
        return stored
    finally:
        central.stop()
        run.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument(
        "--rate", type=float, default=500.0, help="producer rate in the outage phase, events/s"
    )
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--down-s", type=float, default=2.0, help="how long the broker stays down each time")
    parser.add_argument(
        "--kill", action="store_true",
        help="make the last outage a SIGKILL of the broker (in the central phase: every outage)",
    )
    parser.add_argument("--receipt-timeout-s", type=float, default=30.0, help="edge's wait for a receipt")
    parser.add_argument("--max-inflight", type=int, default=20)
    parser.add_argument("--phases", default="throughput,outages,catch-up,central")
    parser.add_argument("--central-child", help=argparse.SUPPRESS)
    parser.add_argument("--central-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--central-shared-subscription",
        action="store_true",
        help="central subscribes through its $share group instead of its default plain subscription",
    )
    args = parser.parse_args(argv)
    if args.central_child:
        return central_child(args.central_child, args.central_port, not args.central_shared_subscription)
    phases = set(args.phases.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        workdir = Path(tmp)
        if "throughput" in phases:
            phase_throughput(workdir, args.events, args.max_inflight)
        if "outages" in phases:
            phase_outages(
                workdir, args.events, args.rate, args.restarts, args.down_s, args.kill, args.max_inflight
            )
        if "catch-up" in phases:
            phase_catch_up(workdir, args.events, 100, args.max_inflight)
        if "central" in phases:
            phase_central(
                workdir,
                args.events,
                args.rate,
                args.restarts,
                args.down_s,
                args.max_inflight,
                not args.central_shared_subscription,
                kill_broker=args.kill,
                receipt_timeout_s=args.receipt_timeout_s,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
