"""Shared pieces of the event store tests: a key, an event factory, a store in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.events import ModelVersions, PlateEvent
from common.plates.alphabet import to_latin
from common.plates.reading import PlateReading
from edge.store import EventStore

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
EventFactory = Callable[..., PlateEvent]


def jpeg_like(size: int, seed: int = 0) -> bytes:
    """Incompressible bytes framed like a JPEG: SQLite stores real crops the same way."""
    body = bytes((seed * 131 + i * 7919 + (i * i) % 251) % 256 for i in range(max(0, size - 4)))
    return b"\xff\xd8" + body + b"\xff\xd9"


def make_event(
    text: str = "А123ВС77",
    channel_id: str = "cam1",
    captured_at: datetime = T0,
    crop: bytes | None = None,
    thumbnail: bytes | None = None,
    region: str | None = "Москва",
) -> PlateEvent:
    return PlateEvent(
        site_id="site-1",
        device_id="gate.north",
        channel_id=channel_id,
        captured_at=captured_at,
        first_seen=captured_at - timedelta(seconds=2),
        last_seen=captured_at + timedelta(milliseconds=700),
        plate=PlateReading(confidence=0.9,
            text=text, latin=to_latin(text), country="RU", format="standard", region=region, valid=True
        ),
        confidence=0.9375,
        box=(410, 620, 530, 648),
        frames=9,
        crop_jpeg=crop,
        thumbnail_jpeg=thumbnail,
        models=ModelVersions(detector="det-2026.11", reader="ocr-2026.11"),
    )


@pytest.fixture
def event() -> EventFactory:
    return make_event


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "edge" / "events.db"


@pytest.fixture
def store(db_path: Path, master_key: bytes) -> Iterator[EventStore]:
    # synchronous=NORMAL skips the fsync per commit that FULL (the default) pays; these tests are
    # about behaviour, the durability setting has tests of its own.
    with EventStore(db_path, master_key, synchronous="NORMAL") as opened:
        yield opened


@pytest.fixture
def jpeg() -> Callable[..., bytes]:
    return jpeg_like


@pytest.fixture
def t0() -> datetime:
    return T0
