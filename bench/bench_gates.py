"""Gate decision latency: capture of the deciding frame -> open command sent, with N channels running.

    python bench/bench_gates.py [--channels 4] [--seconds 60] [--clip PATH]

The agent runs the real models on N channels of 1080p video (the bundled sample clip scaled up,
looped and paced at 25 FPS like live cameras). Each channel watches its own gate; the cached
watchlist allows every plate of the clip and the gates re-decide each pass (debounce 0). Gates on
even channels drive a real local HTTP relay stand-in, gates on odd channels a coil of a real
pymodbus TCP server (tests/edge/gates/standins.py), so both outputs are measured under the same
load. The stand-ins run in a process of their own, as a relay is a device of its own: in the
agent's process they would wait for its interpreter lock (`--in-process` measures that way).
Latency is the decision's own figure: from the moment the deciding frame was read from its
source (its capture, for a live camera) to the moment the output's command was acknowledged (HTTP
response, Modbus write response), so it includes detection, reading and the queue before them.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "edge" / "gates"))
sys.path.insert(0, str(REPO / "bench"))

from bench_edge import make_1080p_clip  # noqa: E402
from standins import HttpRelayStandIn, ModbusStandIn  # noqa: E402

from common.config import EdgeConfig  # noqa: E402
from common.gates import GateDecision  # noqa: E402
from common.watchlists import Watchlist, WatchlistBundle, WatchlistEntry  # noqa: E402
from edge.agent import EdgeAgent  # noqa: E402
from edge.gates import save_watchlists  # noqa: E402

SAMPLE_PLATES = ("B295HT19", "P844TX150", "742KAV03", "B958CM164", "BB96826")


def _serve_standins(conn: Connection) -> None:
    """In a child process: run both stand-ins, report their addresses, stop when told, report counts."""
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    relay, modbus = HttpRelayStandIn(), ModbusStandIn()
    conn.send((relay.url, modbus.port))
    conn.recv()  # stop
    conn.send((len(relay.requests), len(modbus.writes)))
    relay.close()
    modbus.close()


class StandIns:
    """The relay stand-ins, in this process or in a child process."""

    def __init__(self, in_process: bool) -> None:
        self._local: tuple[HttpRelayStandIn, ModbusStandIn] | None = None
        if in_process:
            self._local = (HttpRelayStandIn(), ModbusStandIn())
            self.relay_url, self.modbus_port = self._local[0].url, self._local[1].port
            return
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_standins, args=(child,), daemon=True)
        self._process.start()
        self.relay_url, self.modbus_port = self._conn.recv()

    def stop(self) -> tuple[int, int]:
        """Stop; (HTTP requests, coil writes) received, warm-up included."""
        if self._local is not None:
            relay, modbus = self._local
            counts = (len(relay.requests), len(modbus.writes))
            relay.close()
            modbus.close()
            return counts
        self._conn.send("stop")
        counts: tuple[int, int] = self._conn.recv()
        self._process.join(10)
        return counts


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(clip: Path, channels: int, seconds: float, workdir: Path, in_process: bool) -> None:
    standins = StandIns(in_process)
    save_watchlists(
        workdir / "watchlists.json",
        WatchlistBundle(
            version=1,
            site_id="site1",
            lists=(
                Watchlist(
                    list_id="all",
                    name="All sample plates",
                    kind="allow",
                    entries=tuple(WatchlistEntry(plate=p) for p in SAMPLE_PLATES),
                ),
            ),
        ),
    )
    gates = []
    for i in range(channels):
        output = (
            {"type": "http", "url": standins.relay_url}
            if i % 2 == 0
            else {
                "type": "modbus",
                "host": "127.0.0.1",
                "port": standins.modbus_port,
                "coil": i,
                "pulse_s": 0.5,
            }
        )
        gates.append({"id": f"gate{i}", "channels": [f"cam{i}"], "debounce_s": 0, "outputs": [output]})
    config = EdgeConfig.model_validate(
        {
            "cameras": [
                {"id": f"cam{i}", "source": str(clip), "realtime": True, "loop": True}
                for i in range(channels)
            ],
            "store": {"path": str(workdir / "bench.db"), "key_file": str(workdir / "store.key")},
            "http": {"enabled": False},
            "logging": {"level": "WARNING"},
            "gate_control": {"gates": gates, "watchlist_cache": str(workdir / "watchlists.json")},
        }
    )
    decisions: list[GateDecision] = []
    lock = threading.Lock()

    def collect(decision: GateDecision) -> None:
        with lock:
            decisions.append(decision)

    agent = EdgeAgent(config, decision_listeners=[collect])
    agent.start()
    time.sleep(3.0)  # warm-up: first model runs, files opening
    with lock:
        decisions.clear()
    base = {cid: (w.capture.stats.frames, w.stats.processed) for cid, w in agent.workers.items()}
    started = time.monotonic()
    time.sleep(seconds)
    offered = sum(w.capture.stats.frames - base[cid][0] for cid, w in agent.workers.items())
    handled = sum(w.stats.processed - base[cid][1] for cid, w in agent.workers.items())
    agent.stop()
    elapsed = time.monotonic() - started
    http_requests, coil_writes = standins.stop()

    by_type: dict[str, list[float]] = {"http": [], "modbus": []}
    failed = 0
    for decision in decisions:
        if decision.latency_ms is not None and decision.outputs:
            by_type[decision.outputs[0].type].append(decision.latency_ms)
        failed += sum(not o.ok for o in decision.outputs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{channels} channels, {elapsed:.0f} s, {os.cpu_count()} CPUs, load average after: {load}")
    print(
        f"decisions {len(decisions)} (allowed, opened), output failures {failed}, "
        f"relay requests {http_requests}, coil writes {coil_writes} (warm-up included); "
        f"frames offered {offered / elapsed:.1f}/s, "
        f"handled {handled / elapsed:.1f}/s"
    )
    print(f"{'output':>8} {'n':>5} {'p50_ms':>8} {'p95_ms':>8} {'max_ms':>8}")
    for kind, values in by_type.items():
        print(
            f"{kind:>8} {len(values):>5} {percentile(values, 50):>8.1f} {percentile(values, 95):>8.1f} "
            f"{max(values, default=float('nan')):>8.1f}"
        )
    every = by_type["http"] + by_type["modbus"]
    print(
        f"{'all':>8} {len(every):>5} {percentile(every, 50):>8.1f} {percentile(every, 95):>8.1f} "
        f"{max(every, default=float('nan')):>8.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clip", type=Path, help="a 1080p clip (default: made from the sample clip)")
    parser.add_argument("--in-process", action="store_true", help="run the stand-ins in the agent's process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="anpr-bench-gates-") as tmp:
        workdir = Path(tmp)
        clip = args.clip or make_1080p_clip(workdir / "clip1080.avi", seconds=26)
        print(f"stand-ins {'in the agent process' if args.in_process else 'in their own process'}")
        run(clip, args.channels, args.seconds, workdir, args.in_process)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
