"""10,000 fuzzed MQTT messages into the ingest handler: nothing crashes, every message is accounted for."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from central_factories import ack_message, event_message, make_event, stats_message, status_message
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central.db.models import DeadLetter, Event
from central.ingest.decode import decode
from central.ingest.writer import BatchResult, IngestWriter

MESSAGES = 10_000
BATCH = 500
NOW = datetime(2026, 11, 28, tzinfo=UTC)
WEIRD_VALUES: list[Any] = [
    None,
    "",
    "x" * 5000,
    -1,
    0,
    2**70,
    1e308,
    float("-inf"),
    True,
    [],
    {},
    [1, 2, 3, 4, 5],
    {"nested": {"deep": [None]}},
    "\u0000",
    "А123ВС77",
    "2026-13-45T99:00:00",
    "Z" * 17,
    "../../etc",
]
TOPICS = [
    "anpr/v1/site1/edge1/events",
    "anpr/v1/site1/edge1/status",
    "anpr/v1/site1/edge1/config/ack",
    "anpr/v1/site1/edge1/config/effective",
    "anpr/v1/site1/edge1/stats",
    "anpr/v1/site1/edge1/config",
    "anpr/v1/site1/other/events",
    "anpr/v1/+/#/events",
    "anpr/v2/site1/edge1/events",
    "",
    "anpr/v1/site one/edge1/events",
    "anpr/v1/ñ/edge1/stats",
    "/",
    "anpr/v1//edge1/events",
]


def _mutate_json(rng: random.Random, document: Any, depth: int = 0) -> Any:
    if isinstance(document, dict) and document:
        document = dict(document)
        key = rng.choice(list(document))
        action = rng.random()
        if action < 0.3:
            del document[key]
        elif action < 0.6 or depth > 3:
            document[key] = rng.choice(WEIRD_VALUES)
        elif action < 0.8:
            document[key] = _mutate_json(rng, document[key], depth + 1)
        else:
            document[rng.choice(["extra", "event_id", "schema_version", key.upper()])] = rng.choice(
                WEIRD_VALUES
            )
        return document
    if isinstance(document, list) and document:
        document = list(document)
        document[rng.randrange(len(document))] = rng.choice(WEIRD_VALUES)
        return document
    return rng.choice(WEIRD_VALUES)


def _fuzzed(rng: random.Random, seeds: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    topic, payload = rng.choice(seeds)
    kind = rng.random()
    if kind < 0.35:
        payload = json.dumps(_mutate_json(rng, json.loads(payload))).encode()
    elif kind < 0.5:
        data = bytearray(payload)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        payload = bytes(data)
    elif kind < 0.6:
        payload = payload[: rng.randrange(len(payload))]
    elif kind < 0.7:
        payload = rng.randbytes(rng.randint(0, 300))
    elif kind < 0.8:
        topic = rng.choice(TOPICS)
    elif kind < 0.9:
        # A valid message, sometimes sent twice (redelivery): stored or counted as duplicate.
        topic, payload = event_message(make_event(f"A{rng.randrange(1000):03d}BC77"))
    return topic, payload


def test_fuzzed_messages_never_crash_and_are_all_counted(engine: Engine) -> None:
    rng = random.Random(20261128)
    seeds = [event_message(make_event()), status_message(), stats_message(), ack_message(1)]
    messages = [_fuzzed(rng, seeds) for _ in range(MESSAGES)]
    writer = IngestWriter(engine)
    total = BatchResult()
    for start in range(0, MESSAGES, BATCH):
        chunk = messages[start : start + BATCH]
        total.merge(writer.write([decode(topic, payload, NOW) for topic, payload in chunk]))

    accounted = len(total.stored) + total.duplicates + total.applied + len(total.dead)
    assert accounted == MESSAGES
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == len(total.dead)
        assert session.scalar(select(func.count()).select_from(Event)) == len(total.stored)
        kinds = dict(session.execute(select(DeadLetter.kind, func.count()).group_by(DeadLetter.kind)).all())
    # The fuzzer reaches every kind of refusal, and still lets the valid messages through.
    assert {"bad_topic", "bad_json", "invalid", "topic_mismatch", "unknown_config"} <= set(kinds)
    assert len(total.stored) > 500 and total.duplicates > 0
