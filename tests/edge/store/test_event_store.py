"""The event store keeps plate events encrypted at rest and gives them back intact."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from common.config import StoreConfig
from common.crypto import KeyFileError
from common.events import PlateEvent
from edge.store import (
    DuplicateEventError,
    EventNotFoundError,
    EventStore,
    StoreCorruptError,
    StoreKeyMismatchError,
)


def _raw(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path, isolation_level=None)


def test_event_round_trips_exactly(store: EventStore, event: Callable[..., PlateEvent], jpeg) -> None:
    original = event(crop=jpeg(5000), thumbnail=jpeg(1500, seed=1))
    store.add(original)
    restored = store.get(original.event_id)
    assert restored == original
    assert restored.to_json() == original.to_json()
    assert store.count() == 1


def test_event_without_images_round_trips(store: EventStore, event) -> None:
    original = event(region=None)
    store.add(original)
    assert store.get(str(original.event_id)) == original


def test_store_reopens_with_the_same_key(db_path: Path, master_key: bytes, event, jpeg) -> None:
    original = event(crop=jpeg(800))
    with EventStore(db_path, master_key) as first:
        first.add(original)
    with EventStore(db_path, master_key) as second:
        assert second.get(original.event_id) == original


def test_thumbnails_are_not_kept_when_configured_off(db_path: Path, master_key: bytes, event, jpeg) -> None:
    with EventStore(db_path, master_key, keep_thumbnails=False) as store:
        original = event(crop=jpeg(500), thumbnail=jpeg(300))
        store.add(original)
        restored = store.get(original.event_id)
    assert restored.crop_jpeg == original.crop_jpeg
    assert restored.thumbnail_jpeg is None


def test_adding_an_event_twice_is_refused(store: EventStore, event) -> None:
    original = event()
    store.add(original)
    with pytest.raises(DuplicateEventError, match=str(original.event_id)):
        store.add(original)
    assert store.count() == 1


def test_unknown_event_is_a_clear_error(store: EventStore, event) -> None:
    missing = event().event_id
    with pytest.raises(EventNotFoundError, match=f"no event {missing}"):
        store.get(missing)
    with pytest.raises(ValueError, match="not an event id"):
        store.get("not-a-uuid")


def test_plates_and_images_never_reach_the_disk_in_clear(
    store: EventStore, db_path: Path, event, jpeg
) -> None:
    marker = b"\xff\xd8" + b"CROP-MARKER-" * 40 + b"\xff\xd9"
    store.add(event(text="Е777КХ199", crop=marker, thumbnail=jpeg(400)))
    store.add(event(text="Е777КХ199", crop=marker))
    on_disk = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith("events.db"))
    for secret in ("Е777КХ199", "E777KX199", "Москва"):
        assert secret.encode("utf-8") not in on_disk
    assert b"CROP-MARKER" not in on_disk
    assert b"cam1" in on_disk  # the plain columns are there: the search above looked at the right bytes


def test_query_filters_by_time_and_channel_newest_first(store: EventStore, event, t0) -> None:
    events = [event(captured_at=t0 + timedelta(minutes=i), channel_id=f"cam{i % 2}") for i in range(6)]
    for e in events:
        store.add(e)
    assert [e.event_id for e in store.query()] == [e.event_id for e in reversed(events)]
    window = store.query(since=t0 + timedelta(minutes=1), until=t0 + timedelta(minutes=4))
    assert [e.event_id for e in window] == [events[3].event_id, events[2].event_id, events[1].event_id]
    assert {e.event_id for e in store.query(channel_id="cam1")} == {events[i].event_id for i in (1, 3, 5)}
    assert [e.event_id for e in store.query(limit=2)] == [events[5].event_id, events[4].event_id]
    with pytest.raises(ValueError, match="limit"):
        store.query(limit=0)
    with pytest.raises(ValueError, match="timezone"):
        store.query(since=t0.replace(tzinfo=None))


def test_plate_search_matches_any_spelling(store: EventStore, event, t0) -> None:
    wanted = [event(text="А123ВС77", captured_at=t0 + timedelta(seconds=i)) for i in range(3)]
    for e in [*wanted, event(text="А123ВС78"), event(text="В123АС77")]:
        store.add(e)
    expected = {e.event_id for e in wanted}
    for spelling in ("А123ВС77", "A123BC77", "a 123 bc 77", "А-123-ВС-77"):
        assert {e.event_id for e in store.query(plate=spelling)} == expected
    assert store.query(plate="X999XX99") == []


def test_plate_search_decrypts_only_the_matches(store: EventStore, db_path: Path, event) -> None:
    match, other = event(text="О001ОО77"), event(text="М555ММ50")
    store.add(match)
    store.add(other)
    with _raw(db_path) as raw:  # make the other event undecryptable: touching it would raise
        raw.execute("UPDATE events SET sealed_event = x'00' WHERE event_id = ?", (str(other.event_id),))
    assert [e.event_id for e in store.query(plate="O001OO77")] == [match.event_id]
    assert store.stats.events_quarantined == 0  # the plate search never touched the broken row
    assert [e.event_id for e in store.query()] == [match.event_id]  # a full listing quarantines it
    assert store.quarantined_count() == 1


def test_a_modified_ciphertext_is_detected(store: EventStore, db_path: Path, event, jpeg) -> None:
    original = event(crop=jpeg(600))
    store.add(original)
    with _raw(db_path) as raw:
        sealed = bytearray(raw.execute("SELECT sealed_event FROM events").fetchone()[0])
        sealed[40] ^= 0x01
        raw.execute("UPDATE events SET sealed_event = ?", (bytes(sealed),))
    with pytest.raises(StoreCorruptError, match="failed authentication"):
        store.get(original.event_id)


@pytest.mark.parametrize(("table", "column"), [("events", "sealed_event"), ("images", "sealed")])
def test_ciphertexts_swapped_between_rows_are_detected(
    store: EventStore, db_path: Path, event, jpeg, table: str, column: str
) -> None:
    first, second = event(text="А111АА11", crop=jpeg(300)), event(text="В222ВВ22", crop=jpeg(300, seed=2))
    store.add(first)
    store.add(second)
    ids = (str(first.event_id), str(second.event_id))
    with _raw(db_path) as raw:
        blobs = [
            raw.execute(f"SELECT {column} FROM {table} WHERE event_id = ?", (i,)).fetchone()[0] for i in ids
        ]
        for event_id, blob in zip(ids, reversed(blobs), strict=True):
            raw.execute(f"UPDATE {table} SET {column} = ? WHERE event_id = ?", (blob, event_id))
    for event_id in ids:
        with pytest.raises(StoreCorruptError):
            store.get(event_id)


def test_an_image_moved_to_the_other_column_is_detected(
    store: EventStore, db_path: Path, event, jpeg
) -> None:
    original = event(crop=jpeg(300), thumbnail=jpeg(200, seed=3))
    store.add(original)
    with _raw(db_path) as raw:
        crop, thumbnail = (
            raw.execute("SELECT sealed FROM images WHERE kind = ?", (kind,)).fetchone()[0]
            for kind in ("crop", "thumbnail")
        )
        raw.execute("UPDATE images SET sealed = ? WHERE kind = 'crop'", (thumbnail,))
        raw.execute("UPDATE images SET sealed = ? WHERE kind = 'thumbnail'", (crop,))
    with pytest.raises(StoreCorruptError):
        store.get(original.event_id)


def test_a_wrong_key_is_refused_clearly(db_path: Path, master_key: bytes, event) -> None:
    with EventStore(db_path, master_key) as store:
        store.add(event())
    wrong = bytes(b ^ 0xFF for b in master_key)
    with pytest.raises(StoreKeyMismatchError, match="store key does not match this database"):
        EventStore(db_path, wrong)
    with EventStore(db_path, master_key) as store:  # the refused open changed nothing
        assert store.count() == 1


def test_the_store_runs_in_wal_mode_with_full_sync_by_default(db_path: Path, master_key: bytes) -> None:
    with EventStore(db_path, master_key) as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.integrity_check() == ["ok"]
    with _raw(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    with pytest.raises(ValueError, match="synchronous"):
        EventStore(db_path, master_key, synchronous="OFF")  # type: ignore[arg-type]


def test_a_store_opens_from_its_config_with_a_key_file_made_on_first_run(tmp_path: Path, event) -> None:
    config = StoreConfig(path=tmp_path / "var" / "events.db", key_file=tmp_path / "secret" / "store.key")
    original = event()
    with EventStore.from_config(config) as store:
        store.add(original)
    assert stat.S_IMODE(config.key_file.stat().st_mode) == 0o600
    with EventStore.from_config(config) as store:
        assert store.get(original.event_id) == original
    key = config.key_file.read_bytes()
    config.key_file.unlink()  # a lost key is reported, not replaced by one that cannot read the data
    with pytest.raises(KeyFileError, match="store key is missing but data encrypted with it exists"):
        EventStore.from_config(config)
    assert not config.key_file.exists()
    config.key_file.write_bytes(os.urandom(32))  # a wrong key is told apart from a damaged database
    config.key_file.chmod(0o600)
    with pytest.raises(StoreKeyMismatchError, match="store key does not match this database"):
        EventStore.from_config(config)
    config.key_file.write_bytes(key)  # the restored key works again
    with EventStore.from_config(config) as store:
        assert store.count() == 1


def test_threads_can_share_one_store(store: EventStore, event, t0) -> None:
    def produce(offset: int) -> None:
        for i in range(60):
            store.add(event(captured_at=t0 + timedelta(seconds=offset + i)))

    def publish() -> None:
        for _ in range(30):
            store.mark_synced(item.event_id for item in store.pending(5))

    threads = [threading.Thread(target=produce, args=(n * 100,)) for n in range(2)]
    threads.append(threading.Thread(target=publish))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count() == 120
    assert store.pending_count() + store.stats.events_synced == 120
    assert store.integrity_check() == ["ok"]
