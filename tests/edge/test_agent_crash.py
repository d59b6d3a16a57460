"""kill -9 while events are being written: the agent comes back up and the database is intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from agent_helpers import wait_for
from edge_scene import Passing, write_clip

from common.crypto import load_or_create_key_file
from edge.store import EventStore

HERE = Path(__file__).resolve().parent


def _start(clip: Path, db: Path, key_file: Path) -> subprocess.Popen[str]:
    paths = [str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    process = subprocess.Popen(
        [sys.executable, str(HERE / "agent_process.py"), str(clip), str(db), str(key_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "running", process.stderr.read() if process.stderr else ""
    return process


def _count(db: Path, key: bytes) -> int:
    with EventStore(db, key) as store:
        return store.count()


def test_an_agent_killed_mid_write_restarts_on_an_intact_database(tmp_path: Path) -> None:
    # A short busy clip at 100 fps: an event every 0.3 s, so kill -9 lands among writes.
    clip = write_clip(tmp_path / "busy.avi", [Passing("red", 0, 25)], total_frames=30, fps=100)
    db, key_file = tmp_path / "events.db", tmp_path / "store.key"
    key = load_or_create_key_file(key_file)

    first = _start(clip, db, key_file)
    try:
        assert wait_for(lambda: db.exists() and _count(db, key) >= 2, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    after_kill = _count(db, key)

    second = _start(clip, db, key_file)
    try:
        assert wait_for(lambda: _count(db, key) > after_kill, timeout=60)  # it works again
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert second.returncode == 0

    with EventStore(db, key) as store:
        assert store.integrity_check() == ["ok"]
        events = list(store.iter_events())  # every stored event still decrypts
    assert len(events) >= after_kill + 1
    assert {e.plate.latin for e in events} == {"A123BC77"}
