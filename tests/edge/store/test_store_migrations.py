"""Schema migrations: a database written by an older agent opens, upgraded, with its data intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from common.crypto import StoreKeys
from edge.store import EventStore, StoreError, StoreSchemaError
from edge.store.codec import EventCodec
from edge.store.schema import LATEST_VERSION, MIGRATIONS, migrate, schema_version


def _write_version_1_database(db_path: Path, key: bytes, events: list) -> None:
    """What agent version 1 left on disk: schema v1, its key check, events (the first one synced)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn, target=1)
    keys = StoreKeys.derive(key)
    codec = EventCodec(keys)
    conn.execute("INSERT INTO meta (name, value) VALUES ('key_check', ?)", (keys.check_value,))
    for number, event in enumerate(events):
        sealed = codec.seal(event)
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sealed.event_id,
                sealed.channel_id,
                sealed.captured_at,
                sealed.confidence,
                sealed.country,
                sealed.format,
                sealed.plate_index,
                sealed.sealed_event,
                len(sealed.sealed_event),
                int(number == 0),
            ),
        )
        for image in sealed.images:
            conn.execute(
                "INSERT INTO images VALUES (?, ?, ?, ?)",
                (sealed.event_id, image.kind, image.size, image.sealed),
            )
    assert schema_version(conn) == 1
    conn.close()


def test_migrations_are_numbered_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION >= 2


def test_a_version_1_database_opens_upgraded_with_its_events(
    db_path: Path, master_key: bytes, event, jpeg
) -> None:
    events = [event(text="А123ВС77", crop=jpeg(900)), event(text="Х001ХХ99"), event(text="Х001ХХ99")]
    _write_version_1_database(db_path, master_key, events)
    with EventStore(db_path, master_key) as store:
        assert store.integrity_check() == ["ok"]
        assert [store.get(e.event_id) for e in events] == events
        assert {e.event_id for e in store.query(plate="X001XX99")} == {events[1].event_id, events[2].event_id}
        assert [item.event_id for item in store.pending(10)] == [e.event_id for e in events[1:]]
        assert store.mark_synced([events[1].event_id]) == 1
    raw = sqlite3.connect(db_path)
    assert schema_version(raw) == LATEST_VERSION
    synced_at = dict(raw.execute("SELECT event_id, synced_at FROM events").fetchall())
    assert synced_at[str(events[0].event_id)] is None  # synced under v1, before the column existed
    assert synced_at[str(events[1].event_id)] is not None
    assert synced_at[str(events[2].event_id)] is None
    raw.close()


def test_a_database_from_a_newer_agent_is_refused(db_path: Path, master_key: bytes) -> None:
    with EventStore(db_path, master_key):
        pass
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreSchemaError, match="newer than this software"):
        EventStore(db_path, master_key)


def test_migrating_twice_does_nothing(db_path: Path, master_key: bytes) -> None:
    with EventStore(db_path, master_key):
        pass
    conn = sqlite3.connect(db_path, isolation_level=None)
    assert migrate(conn) == LATEST_VERSION
    assert schema_version(conn) == LATEST_VERSION
    conn.close()


def test_a_file_that_is_not_a_database_is_a_clear_error(db_path: Path, master_key: bytes) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is a text file, not SQLite" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        EventStore(db_path, master_key)


def test_a_version_3_database_gets_the_decisions_table_and_keeps_its_quarantine(
    db_path: Path, master_key: bytes, event
) -> None:
    """Version 3 (quarantine) is what an agent without gates left; 4 adds gate decisions."""
    stored = event(text="А123ВС77")
    with EventStore(db_path, master_key) as store:
        store.add(stored)
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("DROP TABLE decisions")  # back to what version 3 had on disk
    raw.execute("PRAGMA user_version = 3")
    raw.execute(
        "INSERT INTO quarantine VALUES (?, 'cam1', 0, 0, x'00', 'test', 0)",
        ("00000000-0000-0000-0000-000000000001",),
    )
    raw.close()
    with EventStore(db_path, master_key) as store:
        assert store.get(stored.event_id) == stored
        assert store.decisions.pending_count() == 0 and store.decisions.recent() == []
    raw = sqlite3.connect(db_path)
    assert schema_version(raw) == LATEST_VERSION == 4
    assert raw.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
    raw.close()
