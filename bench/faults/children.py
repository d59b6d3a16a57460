"""The fault suite's processes, each run inside its namespace with `ip netns exec`:

    python -m bench.faults.children edge ...      the edge box: encrypted store + real SyncPublisher
    python -m bench.faults.children central ...   one central replica: real MqttIngest into PostgreSQL
    python -m bench.faults.children takeover ...  an intruder device trying to take sessions over

Each writes its state as JSON (atomically) for the suite to read; edge and central run until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 11, 28, tzinfo=UTC)


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")  # writers in several threads never share one
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _stop_event() -> threading.Event:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def index_of(payload: bytes) -> int:
    """An event's index from its JSON: the producer sets captured_at to T0 + index ms."""
    captured_at = datetime.fromisoformat(json.loads(payload)["captured_at"])
    return round((captured_at - T0) / timedelta(milliseconds=1))


def run_edge(args: argparse.Namespace) -> int:
    """Produces args.count events at args.rate into the store; the publisher syncs them."""
    from common.config import EdgeConfig, MqttConfig
    from common.events import ModelVersions, PlateEvent
    from common.plates.reading import PlateReading
    from edge.store.store import EventStore
    from edge.sync import SyncPublisher

    workdir = Path(args.workdir)
    store = EventStore(workdir / "edge-store.db", os.urandom(32))
    config = EdgeConfig(
        site_id=args.site,
        device_id=args.device,
        cameras=[],
        mqtt=MqttConfig(
            enabled=True,
            host=args.host,
            port=args.port,
            username=f"{args.site}/{args.device}",
            password_file=Path(args.password_file),
            receipt_timeout_s=args.receipt_timeout_s,
            receipt_timeout_max_s=max(args.receipt_timeout_s, 60.0),
            keepalive_s=args.keepalive_s,
        ),
    )
    publisher = SyncPublisher(config, store, agent_version="fault-suite", idle_poll_s=0.02)
    stop = _stop_event()
    produced = 0
    status_file = workdir / "edge-status.json"

    def report() -> None:
        oldest = store.pending(1)
        write_json(
            status_file,
            {
                "produced": produced,
                "pending": store.pending_count(),
                "counters": asdict(publisher.counters()),
                # The index of the oldest unconfirmed event (captured_at is T0 + index ms): every event
                # before it is in central.
                "oldest_pending": index_of(oldest[0].payload) if oldest else produced,
            },
        )

    def reporter() -> None:
        while not stop.wait(0.1):
            report()

    publisher.start()
    threading.Thread(target=reporter, daemon=True).start()
    interval, next_at = 1.0 / args.rate, time.monotonic()
    with (workdir / "edge-ids.txt").open("w", encoding="utf-8") as ids:
        for index in range(args.count):
            if stop.is_set():
                break
            at = T0 + timedelta(milliseconds=index)
            event = PlateEvent(
                site_id=args.site,
                device_id=args.device,
                channel_id="cam1",
                captured_at=at,
                first_seen=at,
                last_seen=at,
                plate=PlateReading(
                    confidence=0.9,
                    text=f"А{index % 1000:03d}ВС77",
                    latin=f"A{index % 1000:03d}BC77",
                    valid=True,
                ),
                confidence=0.9,
                box=(10, 20, 110, 45),
                frames=3,
                crop_jpeg=os.urandom(1500),  # about the size of a real plate crop
                models=ModelVersions(detector="det", reader="ocr"),
            )
            store.add(event)  # in the outbox (on disk) before it counts as produced
            ids.write(f"{event.event_id}\n")
            ids.flush()
            produced += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    stop.wait()
    publisher.stop()
    report()
    store.close()
    return 0


def run_central(args: argparse.Namespace) -> int:
    """One central replica: the real MQTT ingest, shared subscription, PostgreSQL schema."""
    import logging

    from central.config import MqttSettings
    from central.db.engine import make_engine
    from central.ingest.mqtt import MqttIngest
    from central.ingest.writer import IngestWriter

    logging.basicConfig(level=logging.WARNING, format=f"[{args.username}] %(asctime)s %(name)s: %(message)s")
    engine = make_engine(args.db_url, connect_args={"options": f"-csearch_path={args.schema}"})
    settings = MqttSettings(
        host=args.host,
        port=args.port,
        username=args.username,
        password_file=Path(args.password_file),
        client_id=args.username,
        session_expiry_s=3600,
        share_group="central",
    )
    stored = 0
    lock = threading.Lock()
    status_file = Path(args.status_file)

    def on_stored(rows: list[dict[str, Any]]) -> None:
        nonlocal stored
        with lock:  # central runs two writer threads on PostgreSQL
            stored += len(rows)
            write_json(status_file, {"stored": stored})

    ingest = MqttIngest(settings, IngestWriter(engine), on_stored=on_stored)
    stop = _stop_event()
    ingest.start()
    if not ingest.wait_connected(60):
        print(f"[{args.username}] could not connect to the broker", file=sys.stderr)
        return 1
    time.sleep(0.5)  # the SUBSCRIBE went out in on_connect; give the SUBACK a moment
    Path(args.ready_file).touch()
    stop.wait()
    ingest.stop()
    engine.dispose()
    return 0


class _Intruder:
    """One MQTT connection of the intruder, recording what the broker answers and sends it."""

    def __init__(self, args: argparse.Namespace, client_id: str, clean_start: bool) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.seen: dict[str, Any] = {"messages": 0}
        self._answers: dict[int, str] = {}
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(
            args.username, Path(args.password_file).read_text(encoding="utf-8").strip()
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.seen.update(messages=self.seen["messages"] + 1)
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self._answer(mid, str(reasons[0]))
        self.client.on_publish = lambda c, u, mid, reason, p: self._answer(mid, str(reason))
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect(args.host, args.port, clean_start=clean_start, properties=properties)
        self.client.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: "connack" in self.seen, 10)

    def _on_connect(self, c: object, u: object, flags: Any, reason: Any, p: object) -> None:
        with self._cond:
            self.seen["session_present"] = bool(getattr(flags, "session_present", False))
            self.seen["connack"] = str(reason)
            self._cond.notify_all()

    def _answer(self, mid: int, value: str) -> None:
        with self._cond:
            self._answers[mid] = value
            self._cond.notify_all()

    def answer(self, mid: int | None) -> str:
        with self._cond:
            self._cond.wait_for(lambda: mid in self._answers, 10)
            return self._answers.get(mid or -1, "no answer")

    def close(self) -> dict[str, Any]:
        self.client.disconnect()
        self.client.loop_stop()
        return self.seen


def run_takeover(args: argparse.Namespace) -> int:
    """A provisioned device's login tries to become central, then the edge box, and forges a
    receipt; prints (JSON) what the broker made of each attempt."""
    from common.messages import EventReceipt
    from common.topics import CENTRAL_EVENTS_SUBSCRIPTION, device_topic

    # 1. Central's client id, clean_start=False: it would inherit central's session (and kick the
    # replica off) if the broker honoured the client id.
    intruder = _Intruder(args, args.central_client_id, clean_start=False)
    intruder.seen["subscribe"] = intruder.answer(
        intruder.client.subscribe(CENTRAL_EVENTS_SUBSCRIPTION, qos=1)[1]
    )
    # 2. A forged receipt naming an event of the edge box: the box would drop it as synced.
    receipt = EventReceipt(
        site_id=args.site, device_id=args.victim_device, at=datetime.now(UTC), stored=[uuid.uuid4()]
    )
    topic = device_topic(args.site, args.victim_device, "receipts")
    intruder.seen["forged_receipt"] = intruder.answer(
        intruder.client.publish(topic, receipt.to_json(), qos=1).mid
    )
    time.sleep(args.listen_s)  # anything of central's session would arrive now
    as_central = intruder.close()
    # 3. The edge box's client id: it would kick the box off if the broker honoured the client id (a
    # clean start: the intruder's own session from step 1 must not count as someone else's).
    intruder = _Intruder(args, args.victim_client_id, clean_start=True)
    time.sleep(args.listen_s)
    print(json.dumps({"as_central": as_central, "as_edge_box": intruder.close()}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="role", required=True)
    for role in ("edge", "central", "takeover"):
        p = sub.add_parser(role)
        p.add_argument("--host", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--password-file", required=True)
    edge = sub.choices["edge"]
    edge.add_argument("--workdir", required=True)
    edge.add_argument("--site", required=True)
    edge.add_argument("--device", required=True)
    edge.add_argument("--count", type=int, required=True)
    edge.add_argument("--rate", type=float, required=True)
    edge.add_argument("--receipt-timeout-s", type=float, required=True)
    edge.add_argument("--keepalive-s", type=int, default=30)
    central = sub.choices["central"]
    central.add_argument("--username", required=True)
    central.add_argument("--db-url", required=True)
    central.add_argument("--schema", required=True)
    central.add_argument("--ready-file", required=True)
    central.add_argument("--status-file", required=True)
    takeover = sub.choices["takeover"]
    takeover.add_argument("--username", required=True)
    takeover.add_argument("--site", required=True)
    takeover.add_argument("--victim-device", required=True)
    takeover.add_argument("--central-client-id", required=True)
    takeover.add_argument("--victim-client-id", required=True)
    takeover.add_argument("--listen-s", type=float, default=1.5)
    args = parser.parse_args(argv)
    return {"edge": run_edge, "central": run_central, "takeover": run_takeover}[args.role](args)


if __name__ == "__main__":
    sys.exit(main())
