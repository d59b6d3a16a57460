"""Fault suite, full size: 10,000 events from an edge box to two central replicas while the broker
is SIGKILLed 3 times, a central replica once, the edge link is cut for 30 s and loses 20% of its
packets for 30 s, and an intruder device tries to take sessions over. Prints the fault table and
the count in central (0 lost, 0 duplicate rows is the pass).

    sudo .venv/bin/python bench/bench_faults.py                # the full run
    sudo .venv/bin/python bench/bench_faults.py --events 1000 --ci   # the CI-size plan

Needs root, iproute2 (ip netns), tc netem or nftables, Mosquitto, and PostgreSQL on its Unix
socket /run/postgresql (database `test`, trust). Everything is made in namespaces with a random
suffix and removed at the end, also on failure. See bench/faults/suite.py for the timeline.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.faults.suite import CI, FULL, missing_requirements, run_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", help="the CI plan (1,000 events, one of each fault)")
    parser.add_argument("--events", type=int, help="events to produce (default: the plan's)")
    parser.add_argument("--rate", type=float, help="events per second (default: the plan's)")
    parser.add_argument(
        "--receipt-timeout-s", type=float, help="the edge's wait for a receipt (default: the plan's)"
    )
    parser.add_argument(
        "--drain-timeout-s", type=float, help="how long to wait for each drain (default: the plan's)"
    )
    parser.add_argument("--workdir", type=Path, help="keep the logs, stores and broker files here")
    args = parser.parse_args(argv)
    reason = missing_requirements()
    if reason is not None:
        print(f"[faults] skipped: {reason}")  # `make bench` runs every script; this one needs root
        return 0
    # SIGTERM (a CI timeout) unwinds like Ctrl-C: run_suite's cleanup removes namespaces and processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = CI if args.ci else FULL
    changes = {
        "events": args.events,
        "rate": args.rate,
        "receipt_timeout_s": args.receipt_timeout_s,
        "drain_timeout_s": args.drain_timeout_s,
    }
    plan = dataclasses.replace(plan, **{k: v for k, v in changes.items() if v is not None})
    print(f"[faults] plan: {plan}")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    result = run_suite(plan, args.workdir)
    print(result.table())
    print(
        f"[faults] takeover attempts: {result.takeover}; sessions closed by a takeover: {result.takeover_log}"
    )
    print(f"[faults] {result.summary()}")
    ok = not result.lost and not result.duplicates and not result.unexpected and result.takeover_refused
    if result.lost:
        print(f"[faults] lost, first few: {sorted(result.lost)[:5]}")
    print(f"[faults] {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
