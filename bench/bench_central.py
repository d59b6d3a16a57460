"""Central benchmarks: ingest rate (events/s) and search latency (p50/p95) at a given row count.

    .venv/bin/python bench/bench_central.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test \
        --ingest-events 20000 --rows 1000000
    .venv/bin/python bench/bench_central.py --db sqlite --rows 100000 --mqtt

Ingest: pre-serialized PlateEvent JSON (with a 4 KiB crop) through decode + IngestWriter in
batches, i.e. everything the MQTT path does after the broker. With --mqtt it also measures the
whole path: a publisher sends QoS 1 to Mosquitto, MqttIngest stores and acks.
Search: the table is filled to --rows with synthetic events (PostgreSQL COPY / SQLite
executemany), then a mix of searches runs through the HTTP API (auth and audit included).
PostgreSQL runs in a throw-away schema; SQLite in a temporary file.

Scale: `--rows 1000000,10000000 --span-days 365 --ingest-at-size 20000` fills in steps (in capture
order, over the last 365 days, so PostgreSQL's monthly partitions fill as in service) and, at each
size, measures ingest into the filled table and the searches. Use a database of its own, e.g.
`--db postgresql+psycopg://postgres@127.0.0.1:5432/bench` (create it first), so tests are not
slowed. `--pause-pid-file F` stops that process (SIGSTOP) only while figures are timed, not
while filling, and always continues it afterwards.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from central.db.engine import make_engine
from central.db.migrate import migrated_scratch_schema, upgrade
from central.db.models import Event
from central.db.partitions import (
    add_months,
    create_partitions,
    event_ids,
    is_partitioned,
    month_of,
    month_start,
)
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from central.rollup import rebuild
from common.events import ModelVersions, PlateEvent
from common.ids import uuid7
from common.plates.alphabet import to_latin
from common.plates.reading import PlateReading
from common.plates.search import fuzzy_key, stored_plate_key
from common.topics import device_topic

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LETTERS = "АВЕКМНОРСТУХ"
T0 = datetime(2026, 8, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Timeline:
    """When the synthetic events were captured: `days` from `start`."""

    start: datetime = T0
    days: int = 90

    @classmethod
    def ending_today(cls, days: int) -> Timeline:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(today - timedelta(days=days), days)

    def day(self, rng: random.Random, length: int = 1) -> dict[str, str]:
        """since/until of a window of `length` days at a random place."""
        start = self.start + timedelta(days=rng.randrange(0, self.days - length + 1), hours=rng.randrange(24))
        return {"since": start.isoformat(), "until": (start + timedelta(days=length)).isoformat()}


@contextmanager
def paused(pid_file: Path | None) -> Iterator[None]:
    """Stop the process in `pid_file` (another job sharing the cores) while figures are timed."""
    pid = int(pid_file.read_text().strip()) if pid_file and pid_file.exists() else None
    if pid is not None:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGCONT)


def random_plate(rng: random.Random) -> str:
    l3 = "".join(rng.choice(LETTERS) for _ in range(3))
    return f"{l3[0]}{rng.randrange(1000):03d}{l3[1:]}{rng.choice(['77', '99', '197', '50', '178'])}"


@contextmanager
def database(kind: str) -> Iterator[Engine]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            upgrade(engine)
            yield engine
            engine.dispose()
        return
    url = POSTGRES_URL if kind == "postgres" else kind
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with migrated_scratch_schema(admin, url, "bench") as engine:
            yield engine
    finally:
        admin.dispose()


def make_payloads(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    crop = os.urandom(4096)
    out = []
    for i in range(count):
        plate = random_plate(rng)
        at = datetime.now(UTC) - timedelta(seconds=count - i)
        event = PlateEvent(
            event_id=uuid7(),
            site_id=f"site{i % 5}",
            device_id=f"edge{i % 20}",
            channel_id=f"cam{i % 2}",
            captured_at=at,
            first_seen=at,
            last_seen=at,
            plate=PlateReading(
                confidence=0.9,
                text=plate,
                latin=to_latin(plate),
                country="RU",
                format="standard",
                region="77",
                valid=True,
            ),
            confidence=0.9,
            box=(10, 20, 110, 50),
            frames=4,
            crop_jpeg=crop,
            models=ModelVersions(detector="det", reader="ocr"),
        )
        out.append((device_topic(event.site_id, event.device_id, "events"), event.to_json()))
    return out


def bench_ingest(engine: Engine, count: int, batch: int, rng: random.Random) -> float:
    payloads = make_payloads(count, rng)
    writer = IngestWriter(engine)
    started = time.perf_counter()
    for start in range(0, count, batch):
        now = datetime.now(UTC)
        result = writer.write([decode(t, p, now) for t, p in payloads[start : start + batch]])
        assert not result.dead, result.dead[:1]
    return count / (time.perf_counter() - started)


def _publish(payloads: list[tuple[str, bytes]], stored: Any, ready: Any) -> None:
    """The edges' side, in its own process so it does not share central's interpreter."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.max_inflight_messages_set(1000)
    publisher.max_queued_messages_set(0)
    publisher.connect("127.0.0.1", 1883)
    publisher.loop_start()
    ready.set()
    # A stock Mosquitto (max_queued_messages 1000) drops QoS 1 messages for a subscriber that falls
    # further behind (2000 ahead lost events here), so the publisher stays at most `window` ahead.
    window = 800
    for sent, (topic, payload) in enumerate(payloads):
        while sent - stored.value >= window:
            time.sleep(0.002)
        publisher.publish(topic, payload, qos=1)
    while stored.value < len(payloads):
        time.sleep(0.05)
    publisher.disconnect()
    publisher.loop_stop()


def bench_mqtt_ingest(engine: Engine, count: int, batch: int, rng: random.Random) -> float:
    import multiprocessing

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from central.config import MqttSettings
    from central.ingest.mqtt import MqttIngest

    tag = uuid.uuid4().hex[:8]
    settings = MqttSettings(client_id=f"bench-{tag}", share_group=f"bench{tag}", batch_size=batch)
    context = multiprocessing.get_context("fork")
    stored = context.Value("q", 0)

    def count_stored(rows: list[dict[str, Any]]) -> None:
        with stored.get_lock():
            stored.value += len(rows)

    ingest = MqttIngest(settings, IngestWriter(engine), on_stored=count_stored)
    ingest.start()
    ingest.wait_connected(10)
    time.sleep(0.5)
    ready = context.Event()
    publisher = context.Process(target=_publish, args=(make_payloads(count, rng), stored, ready), daemon=True)
    publisher.start()
    ready.wait(30)
    started = time.perf_counter()
    last_progress = (stored.value, started)
    while stored.value < count:
        time.sleep(0.01)
        if stored.value != last_progress[0]:
            last_progress = (stored.value, time.perf_counter())
        elif time.perf_counter() - last_progress[1] > 30:
            print(f"  MQTT: only {stored.value} of {count} events arrived", file=sys.stderr)
            break
    elapsed = time.perf_counter() - started
    publisher.join(10)
    if publisher.is_alive():
        publisher.terminate()
    ingest.stop()
    forget = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=mqtt.MQTTv5)
    forget.connect("127.0.0.1", 1883, clean_start=True)
    forget.disconnect()
    return stored.value / elapsed


@functools.lru_cache(maxsize=1_000_000)
def plate_keys(plate: str) -> tuple[str, str, str]:
    """(latin, norm, skeleton) of a plate: regulars come back, so they are computed once."""
    return to_latin(plate), stored_plate_key(plate), fuzzy_key(plate)


def synthetic_rows(count: int, rng: random.Random, timeline: Timeline) -> Iterator[dict[str, object]]:
    """Plates repeat like real traffic: a pool of regulars plus one-off visitors. Capture times rise
    over the timeline, as events arrive in service (with jitter within a few seconds)."""
    regulars = [random_plate(rng) for _ in range(max(1, count // 20))]
    span_us = timeline.days * 86_400_000_000
    for i in range(count):
        plate = rng.choice(regulars) if rng.random() < 0.5 else random_plate(rng)
        latin, norm, skeleton = plate_keys(plate)
        at = timeline.start + timedelta(microseconds=(span_us * i) // count + rng.randrange(5_000_000))
        device = rng.randrange(20)
        yield {
            "event_id": uuid.uuid4(),
            "site_id": f"site{device % 5}",
            "device_id": f"edge{device}",
            "channel_id": f"cam{i % 2}",
            "captured_at": at,
            "first_seen": at,
            "last_seen": at,
            "received_at": at,
            "plate_text": plate,
            "plate_latin": latin,
            "plate_norm": norm,
            "plate_skeleton": skeleton,
            "country": "RU",
            "plate_format": "standard",
            "region": "77",
            "plate_valid": rng.random() < 0.95,
            "confidence": round(rng.uniform(0.5, 1.0), 3),
            "box_x1": 1,
            "box_y1": 2,
            "box_x2": 3,
            "box_y2": 4,
            "frames": 3,
            "detector_model": "det",
            "reader_model": "ocr",
            "has_crop": False,
        }


def fill_postgres(engine: Engine, rows: int, rng: random.Random, timeline: Timeline) -> list[str]:
    """PostgreSQL at scale: the plates (with their search keys) are made here, once each, and
    PostgreSQL makes the events from them (INSERT ... SELECT over generate_series), in capture
    order, into the monthly partitions (created first, as ingest would) and the id registry.
    Half the events are regulars (a pool of rows/20 plates), half visitors (rows/8 plates)."""
    regulars = list({random_plate(rng) for _ in range(max(1, rows // 20))})
    visitors = list({random_plate(rng) for _ in range(max(1, rows // 8))})
    pool = [(i, plate, *plate_keys(plate)) for i, plate in enumerate(regulars + visitors)]
    start, span_s = timeline.start, timeline.days * 86_400
    months = set()
    month = month_of(start)
    while month_start(month) < start + timedelta(days=timeline.days):
        months.add(month)
        month = add_months(month, 1)
    chunk = 250_000
    with engine.begin() as connection:
        if is_partitioned(connection):
            create_partitions(connection, months)
    with engine.connect() as connection:  # one session: the temporary plate table lives in it
        connection.exec_driver_sql(
            "CREATE TEMP TABLE bench_plates (i int PRIMARY KEY, plate_text text, plate_latin text, "
            "plate_norm text, plate_skeleton text)"
        )
        cursor = connection.connection.cursor()
        with cursor.copy("COPY bench_plates FROM STDIN") as copy:
            for entry in pool:
                copy.write_row(entry)
        connection.commit()
        for done in range(0, rows, chunk):
            size = min(chunk, rows - done)
            connection.exec_driver_sql(
                f"""
                WITH new AS (
                    INSERT INTO events (event_id, site_id, device_id, channel_id, captured_at, first_seen,
                        last_seen, received_at, plate_text, plate_latin, plate_norm, plate_skeleton, country,
                        plate_format, region, plate_valid, confidence, box_x1, box_y1, box_x2, box_y2, frames,
                        detector_model, reader_model, has_crop)
                    SELECT gen_random_uuid(), 'site' || (r.device %% 5), 'edge' || r.device,
                        'cam' || (g %% 2), r.at, r.at, r.at, r.at,
                        p.plate_text, p.plate_latin, p.plate_norm, p.plate_skeleton,
                        'RU', 'standard', '77', random() < 0.95, round((0.5 + random() * 0.5)::numeric, 3),
                        1, 2, 3, 4, 3, 'det', 'ocr', false
                    FROM generate_series({done}, {done + size - 1}) AS g
                    CROSS JOIN LATERAL (
                        SELECT floor(random() * 20)::int AS device,
                            %(start)s::timestamptz + make_interval(secs => {span_s}::float8 * g / {rows}
                                + random() * 5) AS at,
                            CASE WHEN random() < 0.5 THEN floor(random() * {len(regulars)})::int
                                 ELSE {len(regulars)} + floor(random() * {len(visitors)})::int END AS plate
                        OFFSET 0
                    ) AS r
                    JOIN bench_plates p ON p.i = r.plate
                    ORDER BY g
                    RETURNING event_id, captured_at
                )
                INSERT INTO {event_ids.name} (event_id, captured_at) SELECT event_id, captured_at FROM new
                """,
                {"start": start},
            )
            connection.commit()
            print(f"  filled {done + size:,}/{rows:,}", file=sys.stderr, flush=True)
        connection.exec_driver_sql("DROP TABLE bench_plates")
        started = time.perf_counter()
        hours = rebuild(connection)
        connection.commit()
        print(f"  hourly counts: {hours:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    return [plate for plate in regulars[:: max(1, len(regulars) // 2000)]]


def fill(engine: Engine, rows: int, rng: random.Random, timeline: Timeline) -> list[str]:
    """Insert synthetic rows; returns some stored plates to search for."""
    if engine.dialect.name == "postgresql":
        return fill_postgres(engine, rows, rng, timeline)
    columns = [c.name for c in Event.__table__.columns]
    sample: list[str] = []
    chunk = 50_000
    generated = synthetic_rows(rows, rng, timeline)
    done = 0
    with engine.connect() as connection:
        registry = is_partitioned(connection)  # PostgreSQL keeps every id in event_ids too
    while done < rows:
        part = [next(generated) for _ in range(min(chunk, rows - done))]
        sample.extend(str(r["plate_text"]) for r in part[:: max(1, len(part) // 50)])
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                cursor = connection.connection.cursor()
                with cursor.copy(f"COPY events ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in part:
                        copy.write_row([row[c] for c in columns])
                if registry:
                    with cursor.copy(f"COPY {event_ids.name} (event_id, captured_at) FROM STDIN") as copy:
                        for row in part:
                            copy.write_row([row["event_id"], row["captured_at"]])
        else:
            with engine.begin() as connection:
                connection.execute(Event.__table__.insert(), part)
        done += len(part)
        print(f"  filled {done:,}/{rows:,}", file=sys.stderr)
    with engine.begin() as connection:
        # The rows went in around ingest, so the dashboard's hourly counts are rebuilt from them.
        started = time.perf_counter()
        hours = rebuild(connection)
        print(f"  hourly counts: {hours:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        connection.exec_driver_sql("ANALYZE")
    return sample


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def api_client(engine: Engine) -> Iterator[tuple[Any, dict[str, str]]]:
    """The HTTP app on `engine` (no MQTT) and a viewer's auth header: timings include auth and audit."""
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from central.app import create_app
    from central.config import CentralConfig, MqttSettings, RetentionSettings
    from central.db.models import User

    with tempfile.TemporaryDirectory() as tmp:
        # Retention off: the benchmark's events are months old and must stay put while it measures.
        config = CentralConfig(
            data_dir=Path(tmp), mqtt=MqttSettings(enabled=False), retention=RetentionSettings(enabled=False)
        )
        app = create_app(config, engine=engine)
        now = datetime.now(UTC)
        hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("bench password")
        with Session(engine) as session, session.begin():
            session.merge(
                User(
                    username="bench",
                    password_hash=hashed,
                    role="viewer",
                    disabled=False,
                    created_at=now,
                    tokens_valid_after=now - timedelta(minutes=1),
                )
            )
        with TestClient(app) as client:
            token = client.post(
                "/api/v1/auth/token", data={"username": "bench", "password": "bench password"}
            )
            yield client, {"Authorization": f"Bearer {token.json()['access_token']}"}


def bench_search(
    engine: Engine, plates: list[str], searches: int, rng: random.Random, timeline: Timeline
) -> dict[str, tuple[float, float]]:
    with api_client(engine) as (client, headers):

        def fuzzy_variant(plate: str) -> str:
            latin = to_latin(plate)
            i = rng.randrange(1, len(latin))
            return latin[:i] + rng.choice("0123456789") + latin[i + 1 :]

        kinds: dict[str, Callable[[], dict[str, str]]] = {
            "exact": lambda: {"plate": rng.choice(plates)},
            "prefix": lambda: {"plate": rng.choice(plates)[:4], "match": "prefix"},
            "short prefix": lambda: {"plate": rng.choice(plates)[:2], "match": "prefix"},
            "fuzzy": lambda: {"plate": fuzzy_variant(rng.choice(plates)), "match": "fuzzy"},
            "day window": lambda: timeline.day(rng),
            "site+day": lambda: {"site": f"site{rng.randrange(5)}", **timeline.day(rng)},
            "site latest": lambda: {"site": f"site{rng.randrange(5)}"},
            "device+channel": lambda: {"device": f"edge{rng.randrange(20)}", "channel": "cam1"},
            "latest": lambda: {},
        }
        timings: dict[str, list[float]] = {name: [] for name in [*kinds, "next page"]}
        for i in range(searches):
            name = list(kinds)[i % len(kinds)]
            params = kinds[name]()
            started = time.perf_counter()
            response = client.get("/api/v1/events", params=params, headers=headers)
            timings[name].append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            cursor = response.json()["next_cursor"]
            if cursor and name in {"latest", "site+day", "day window"}:
                started = time.perf_counter()
                client.get("/api/v1/events", params={**params, "cursor": cursor}, headers=headers)
                timings["next page"].append(time.perf_counter() - started)
    everything = [t for values in timings.values() for t in values]
    result = {name: percentiles(values) for name, values in timings.items() if values}
    result["all"] = percentiles(everything)
    return result


def bench_dashboard(
    engine: Engine, queries: int, rng: random.Random, timeline: Timeline
) -> dict[str, tuple[float, float]]:
    """The console's aggregate endpoints over windows at random places in the filled days."""

    def window(days: int) -> dict[str, str]:
        return timeline.day(rng, days)

    kinds: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
        "timeline 1d/hour by site": ("/api/v1/stats/timeline", lambda: {**window(1), "group_by": "site"}),
        "timeline 7d/hour by camera": (
            "/api/v1/stats/timeline",
            lambda: {**window(7), "group_by": "camera"},
        ),
        "timeline 30d/day by site": (
            "/api/v1/stats/timeline",
            lambda: {**window(30), "bucket": "day", "group_by": "site"},
        ),
        "cameras 1d": ("/api/v1/stats/cameras", lambda: window(1)),
        "cameras 7d": ("/api/v1/stats/cameras", lambda: window(7)),
        "busiest plates 1d": ("/api/v1/stats/plates", lambda: window(1)),
        "repeat visits 7d (>=3)": ("/api/v1/stats/plates", lambda: {**window(7), "min_events": 3}),
        "count latest (cap 10k)": ("/api/v1/events", lambda: {"count": "true"}),
        "count site+day": (
            "/api/v1/events",
            lambda: {**window(1), "site": f"site{rng.randrange(5)}", "count": "true"},
        ),
        "geojson 30d": ("/api/v1/geo/cameras.geojson", lambda: window(30)),
    }
    timings: dict[str, list[float]] = {name: [] for name in kinds}
    with api_client(engine) as (client, headers):
        for i in range(queries):
            name = list(kinds)[i % len(kinds)]
            path, params = kinds[name]
            started = time.perf_counter()
            response = client.get(path, params=params(), headers=headers)
            timings[name].append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return {name: percentiles(values) for name, values in timings.items() if values}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="postgres", help="postgres, sqlite, or a SQLAlchemy URL")
    parser.add_argument("--ingest-events", type=int, default=20_000, help="ingest into an empty database")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--mqtt", action="store_true", help="also measure ingest through the Mosquitto broker"
    )
    parser.add_argument(
        "--rows",
        type=lambda text: sorted(int(n) for n in text.split(",")),
        default=[1_000_000],
        help="rows in the table for the search benchmark; several (1000000,10000000) fill in steps",
    )
    parser.add_argument(
        "--span-days", type=int, help="events over the last N days (default: 90 days from 2026-08-01)"
    )
    parser.add_argument(
        "--ingest-at-size", type=int, default=0, help="events to ingest into the table at each --rows size"
    )
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument(
        "--dashboard-queries", type=int, default=200, help="console aggregate queries (0: skip)"
    )
    parser.add_argument("--pause-pid-file", type=Path, help="SIGSTOP this process while timing")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    timeline = Timeline.ending_today(args.span_days) if args.span_days else Timeline()

    with database(args.db) as engine:
        name = engine.dialect.name
        if args.ingest_events:
            with paused(args.pause_pid_file):
                rate = bench_ingest(engine, args.ingest_events, args.batch, rng)
            batches = f"batches of {args.batch}"
            print(f"ingest  {name}: {rate:,.0f} events/s ({args.ingest_events:,} events, {batches})")
    if args.mqtt and args.ingest_events:
        with database(args.db) as engine, paused(args.pause_pid_file):
            rate = bench_mqtt_ingest(engine, args.ingest_events, args.batch, rng)
            print(f"ingest  {name} via MQTT: {rate:,.0f} events/s ({args.ingest_events:,} events, QoS 1)")
    if args.rows and args.rows[-1]:
        with database(args.db) as engine:
            plates: list[str] = []
            filled = 0
            for size in args.rows:
                started = time.perf_counter()
                plates += fill(engine, size - filled, rng, timeline)
                elapsed = time.perf_counter() - started
                print(
                    f"filled  {name}: {size - filled:,} rows in {elapsed:.0f} s "
                    f"({(size - filled) / elapsed:,.0f} rows/s), {size:,} in all", flush=True
                )
                filled = size
                with paused(args.pause_pid_file):
                    measure_at_size(engine, args, size, plates, rng, timeline)
    return 0


def measure_at_size(
    engine: Engine,
    args: argparse.Namespace,
    size: int,
    plates: list[str],
    rng: random.Random,
    timeline: Timeline,
) -> None:
    name = engine.dialect.name
    if args.ingest_at_size:
        rate = bench_ingest(engine, args.ingest_at_size, args.batch, rng)
        events = f"{args.ingest_at_size:,} events"
        print(f"ingest  {name} {size:,} rows: {rate:,.0f} events/s ({events})", flush=True)
    if args.searches:
        for kind, (p50, p95) in bench_search(engine, plates, args.searches, rng, timeline).items():
            figures = f"p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"
            print(f"search  {name} {size:,} rows {kind:>14}: {figures}", flush=True)
    if args.dashboard_queries:
        for kind, (p50, p95) in bench_dashboard(engine, args.dashboard_queries, rng, timeline).items():
            figures = f"p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"
            print(f"console {name} {size:,} rows {kind:>26}: {figures}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
