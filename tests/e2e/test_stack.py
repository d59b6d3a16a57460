"""`make stack` end to end: central on SQLite, an edge box on the sample clip, the local Mosquitto;
plates reach the console's API, and the admin's one-time password opens it."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from provisioning.local_broker import free_port

STACK = Path(__file__).resolve().parents[2] / "scripts" / "stack.py"
pytestmark = [pytest.mark.slow, pytest.mark.broker]


def test_stack_brings_plates_into_the_console(tmp_path: Path) -> None:
    port = free_port()
    device = f"stack-{uuid.uuid4().hex[:8]}"  # its own MQTT topics: other runs share the broker
    run = subprocess.run(
        [sys.executable, str(STACK), "--data-dir", str(tmp_path), "--port", str(port), "--device", device,
         "--until-events", "2", "--timeout", "150"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr + (tmp_path / "edge.log").read_text()
    assert f"anpr console: http://127.0.0.1:{port}/" in run.stdout
    assert re.search(r"sign in as 'admin' with the one-time password \S{16}", run.stdout)
    assert f"central holds 2+ events of {device}" in run.stdout
    assert re.search(r"first plates in the console \d+ s after the edge started", run.stdout)
    # A second start resets the admin's password instead of failing on the existing account.
    again = subprocess.run(
        [sys.executable, str(STACK), "--data-dir", str(tmp_path), "--port", str(port), "--device", device,
         "--until-events", "1", "--timeout", "60"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    first = re.search(r"one-time password (\S+)", run.stdout)
    second = re.search(r"one-time password (\S+)", again.stdout)
    assert first and second and first.group(1) != second.group(1)
