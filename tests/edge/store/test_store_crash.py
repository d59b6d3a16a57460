"""kill -9 at any moment: the database stays sound and every event acknowledged as stored is there.

The writer is a forked child (a real separate process, spared the interpreter start-up) that adds
events in a loop, marks some synced, runs retention now and then, and prints each event id after
add() returned, i.e. after COMMIT. The parent SIGKILLs it at a random moment, five times over.
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
from common.events import ModelVersions, PlateEvent, PlateText
from edge.store import EventStore


def _writer(db_path: Path, key_path: Path, synchronous: str, out_fd: int) -> None:
    store = EventStore(db_path, load_or_create_key_file(key_path), synchronous=synchronous)  # type: ignore[arg-type]
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
            plate=PlateText(text=f"А{n % 1000:03d}ВС77", latin=f"A{n % 1000:03d}BC77", valid=True),
            confidence=0.9,
            box=(1, 2, 3, 4),
            frames=3,
            crop_jpeg=crop,
            models=ModelVersions(detector="d", reader="r"),
        )
        store.add(event)
        if n % 7 == 0:
            store.mark_synced([event.event_id])
        if n % 50 == 49:
            store.enforce_retention()
        os.write(out_fd, f"{event.event_id}\n".encode())  # one write() per line: a line is whole or absent
        n += 1


def _run_and_kill(db_path: Path, key_path: Path, synchronous: str, rng: random.Random) -> list[str]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        status = 1
        try:
            os.close(read_fd)
            _writer(db_path, key_path, synchronous, write_fd)
        except BaseException as exc:
            sys.stderr.write(f"writer failed: {exc!r}\n")
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        first = pipe.readline()  # the writer is running and has committed once
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(pid, signal.SIGKILL)
        rest = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer died on its own"
    lines = (first + rest).decode().split("\n")
    return lines[:-1]  # the piece after the last newline was not acknowledged


def test_sigkill_during_writes_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db_path, key_path = tmp_path / "events.db", tmp_path / "store.key"
    rng = random.Random(20261128)
    acknowledged: list[str] = []
    for round_number in range(5):
        # FULL is the default; NORMAL is just as safe against a killed process (not a power cut).
        synchronous = "FULL" if round_number % 2 == 0 else "NORMAL"
        new = _run_and_kill(db_path, key_path, synchronous, rng)
        assert new, "the writer acknowledged nothing"
        assert all(uuid.UUID(line) for line in new)
        acknowledged.extend(new)
        with EventStore(db_path, key_path.read_bytes()) as store:
            assert store.integrity_check() == ["ok"]
            for event_id in acknowledged:
                store.get(event_id)  # raises if the event is missing or does not decrypt
            assert store.count() >= len(acknowledged)
    assert len(acknowledged) > 20
