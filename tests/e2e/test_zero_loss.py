"""Zero loss, edge to central, at CI size: the broker restarts three times and central is killed
once while an edge box publishes; central ends up with every event exactly once.

The full-size run (10,000 events) is `python bench/bench_sync.py --phases central`.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sync.py"

pytestmark = [
    pytest.mark.broker,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
                       reason="needs the mosquitto binary"),
]


def _bench_sync():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_sync", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sync"] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_central_holds_every_event_once_after_broker_restarts_and_a_central_crash(tmp_path: Path) -> None:
    count = 600
    stored = _bench_sync().phase_central(
        tmp_path, count=count, rate=100.0, restarts=3, down_s=1.0, max_inflight=20, plain_subscription=True
    )
    assert stored == count


def test_no_event_is_lost_when_the_broker_is_sigkilled_mid_stream(tmp_path: Path) -> None:
    """The broker dies without saving (SIGKILL) while 1,000 events stream through it: events it
    had acknowledged (PUBACK) but not saved are gone from it, and only central's receipts tell
    the edge so; the edge sends them again after its receipt timeout. The events table's primary
    key is the event id, so `stored == count` means no loss and no duplicate row."""
    count = 1000
    stored = _bench_sync().phase_central(
        tmp_path, count=count, rate=200.0, restarts=1, down_s=1.0, max_inflight=20,
        plain_subscription=True, kill_broker=True, kill_central=False, receipt_timeout_s=3.0,
    )
    assert stored == count
