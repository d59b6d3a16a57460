"""kill -9 at any moment: the database stays sound and every event acknowledged as stored is there.

The writer is a forked child (a real separate process, spared the interpreter start-up) that adds
events in a loop, marks every other one synced, and runs retention against a small quota every
few events, so kills also land in deletions and vacuuming. It prints each event id once its
transactions have committed, with S when the event was also marked synced. The parent SIGKILLs it
at a random moment, five times over; unsynced events must all be there, synced ones may have been
removed by retention.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.crypto import load_or_create_key_file
from common.events import ModelVersions, PlateEvent
from common.plates.reading import PlateReading
from edge.store import EventStore
from edge.store.sqlite import Synchronous


def _writer(db_path: Path, key_path: Path, synchronous: Synchronous, out_fd: int) -> None:
    key = load_or_create_key_file(key_path)
    store = EventStore(db_path, key, synchronous=synchronous, max_disk_mb=0.1)
    crop = bytes(range(256)) * 20
    n = 0
    while True:
        now = datetime.now(UTC)
        event = PlateEvent(
            site_id="s1",
            device_id="d1",
            channel_id=f"cam{n % 3}",
            captured_at=now,
            first_seen=now - timedelta(seconds=1),
            last_seen=now,
            plate=PlateReading(
                confidence=0.9, text=f"А{n % 1000:03d}ВС77", latin=f"A{n % 1000:03d}BC77", valid=True),
            confidence=0.9,
            box=(1, 2, 3, 4),
            frames=3,
            crop_jpeg=crop,
            models=ModelVersions(detector="d", reader="r"),
        )
        store.add(event)
        synced = n % 2 == 0
        if synced:
            store.mark_synced([event.event_id])
        if n % 10 == 9:
            store.enforce_retention()
        # One write() per line: a line is whole or absent.
        os.write(out_fd, f"{event.event_id} {'S' if synced else 'U'}\n".encode())
        n += 1


def _run_and_kill(
    db_path: Path, key_path: Path, synchronous: Synchronous, rng: random.Random
) -> list[tuple[str, str]]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: loops until killed and never returns into pytest
        try:
            os.close(read_fd)
            _writer(db_path, key_path, synchronous, write_fd)
        except BaseException as exc:
            sys.stderr.write(f"writer failed: {exc!r}\n")
        finally:
            os._exit(1)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        first = b"".join(pipe.readline() for _ in range(5))  # the writer is up and has committed
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(pid, signal.SIGKILL)
        rest = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer died on its own"
    lines = (first + rest).decode().split("\n")[:-1]  # the piece after the last newline: not acknowledged
    return [(event_id, state) for event_id, state in (line.split(" ") for line in lines)]


def test_sigkill_during_writes_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db_path, key_path = tmp_path / "events.db", tmp_path / "store.key"
    rng = random.Random(20261128)
    unsynced: list[str] = []
    synced = 0
    for round_number in range(5):
        # FULL is the default; NORMAL is just as safe against a killed process (not a power cut).
        synchronous: Synchronous = "FULL" if round_number % 2 == 0 else "NORMAL"
        new = _run_and_kill(db_path, key_path, synchronous, rng)
        assert new, "the writer acknowledged nothing"
        unsynced.extend(str(uuid.UUID(event_id)) for event_id, state in new if state == "U")
        synced += sum(state == "S" for _, state in new)
        with EventStore(db_path, key_path.read_bytes()) as store:
            assert store.integrity_check() == ["ok"]
            for event_id in unsynced:
                store.get(event_id)  # raises if the event is missing or does not decrypt
            assert store.pending_count() >= len(unsynced)
    assert len(unsynced) > 10 and synced > 10
    with EventStore(db_path, key_path.read_bytes()) as store:
        assert store.count() < len(unsynced) + synced  # retention did run (and was killed) in between
