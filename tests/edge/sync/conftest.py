"""Fixtures for the sync tests: a real encrypted event store, a private broker, subscribers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sync_helpers import Subscriber

from edge.store.store import EventStore
from provisioning.local_broker import LocalBroker, find_mosquitto


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    # synchronous=NORMAL keeps thousands of adds fast in tests; durability is the store's own test.
    event_store = EventStore(tmp_path / "events.db", os.urandom(32), synchronous="NORMAL")
    yield event_store
    event_store.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.stop()


@pytest.fixture
def subscribe(broker: LocalBroker) -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def _subscribe(topic: str, client_id: str = "test-subscriber", confirm: bool = False) -> Subscriber:
        subscriber = Subscriber(broker, topic, client_id, confirm)
        made.append(subscriber)
        return subscriber

    yield _subscribe
    for subscriber in made:
        subscriber.close()
