"""`make stack`: central on SQLite and an edge agent syncing to it through the local Mosquitto.

    python scripts/stack.py [--port 8080] [--data-dir var/stack] [--broker-port 1883]

Starts `central serve` (SQLite in the data dir, MQTT ingest from 127.0.0.1:1883), creates or
resets the `admin` account with a one-time password it prints, starts `edge run` on the bundled
sample clip (looped, at its own frame rate) with MQTT sync on, and prints the console's URL.
Plates read by the edge show in the console within seconds. Ctrl-C stops both.

It only starts processes; it imports neither edge nor central (they never import each other).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "admin"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def write_configs(args: argparse.Namespace) -> tuple[Path, Path]:
    data = args.data_dir.resolve()
    (data / "edge").mkdir(parents=True, exist_ok=True)
    central = {
        "data_dir": str(data / "central"),
        "http": {"host": "127.0.0.1", "port": args.port},
        # A client id of its own per data dir: the broker keeps a session per id.
        "mqtt": {
            "host": "127.0.0.1",
            "port": args.broker_port,
            "client_id": f"anpr-central-stack-{args.device}",
        },
    }
    edge = {
        "site_id": args.site,
        "device_id": args.device,
        "cameras": [{"id": "gate", "source": "sample:clip", "realtime": True, "loop": True}],
        "store": {"path": str(data / "edge" / "events.db"), "key_file": str(data / "edge" / "store.key")},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": args.broker_port, "stats_interval_s": 10},
        "http": {"enabled": False},
    }
    central_path, edge_path = data / "central.yaml", data / "edge.yaml"
    central_path.write_text(yaml.safe_dump(central, sort_keys=False), encoding="utf-8")
    edge_path.write_text(yaml.safe_dump(edge, sort_keys=False), encoding="utf-8")
    return central_path, edge_path


def central_cli(config: Path, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central.cli", "--config", str(config), *command],
        input=stdin, capture_output=True, text=True, env=_env(), check=False,
    )  # fmt: skip


def one_time_admin(config: Path) -> str:
    """Create `admin`, or give the existing one a new password: either way, print-once."""
    password = secrets.token_urlsafe(12)
    upgrade = central_cli(config, "db", "upgrade")
    if upgrade.returncode != 0:
        raise SystemExit(f"database upgrade failed: {upgrade.stderr.strip()}")
    added = central_cli(config, "users", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=password)
    if added.returncode != 0 and "already exists" in added.stderr:
        added = central_cli(config, "users", "passwd", ADMIN, "--password-stdin", stdin=password)
    if added.returncode != 0:
        raise SystemExit(f"cannot set up the admin account: {added.stderr.strip()}")
    return password


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def wait_ready(base: str, central: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Until central answers ready (database migrated, broker connected)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if central.poll() is not None:
            raise SystemExit(f"central exited with {central.returncode}; is Mosquitto on the broker port?")
        if _get(f"{base}/api/ready")[0] == 200:
            return
        time.sleep(0.3)
    raise SystemExit(f"central was not ready within {timeout_s:.0f} s: is Mosquitto running?")


def sign_in(base: str, password: str) -> str:
    body = urllib.parse.urlencode({"username": ADMIN, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/v1/auth/token", data=body, timeout=5) as response:
        return str(json.load(response)["access_token"])


def count_events(base: str, token: str, device: str) -> int:
    """Events of our edge box only: the broker may carry other boxes' events too."""
    query = urllib.parse.urlencode({"device": device, "count": "true", "limit": 1})
    status, page = _get(f"{base}/api/v1/events?{query}", token)
    return int(page["total"]) if status == 200 else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "stack")
    parser.add_argument("--port", type=int, default=8080, help="the console's HTTP port")
    parser.add_argument("--broker-port", type=int, default=1883, help="Mosquitto on 127.0.0.1")
    parser.add_argument("--site", default="demo")
    parser.add_argument("--device", default="demo-box")
    parser.add_argument(
        "--until-events",
        type=int,
        default=0,
        help="exit 0 once central holds this many of our events (tests)",
    )
    parser.add_argument("--timeout", type=float, default=0, help="with --until-events: give up after this")
    args = parser.parse_args(argv)

    central_config, edge_config = write_configs(args)
    password = one_time_admin(central_config)
    base = f"http://127.0.0.1:{args.port}"
    logs = args.data_dir.resolve()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with open(logs / "central.log", "wb") as central_log:
            central = subprocess.Popen(
                [sys.executable, "-m", "central.cli", "--config", str(central_config),
                 "--log-level", "WARNING", "serve"],
                env=_env(), stdout=central_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        processes.append(central)
        wait_ready(base, central, 60)
        with open(logs / "edge.log", "wb") as edge_log:
            edge = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "run", "--config", str(edge_config)],
                env=_env(), stdout=edge_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        processes.append(edge)
        print(f"anpr console: {base}/", flush=True)
        print(f"sign in as {ADMIN!r} with the one-time password {password}", flush=True)
        broker = f"127.0.0.1:{args.broker_port}"
        print(f"edge {args.site}/{args.device} reads the sample clip and syncs through {broker}", flush=True)
        print(f"logs: {logs / 'central.log'}, {logs / 'edge.log'}; Ctrl-C stops both", flush=True)
        started = time.monotonic()
        deadline = started + args.timeout if args.timeout else None
        token, first_seen = sign_in(base, password), False
        while True:
            for process in processes:
                if process.poll() is not None:
                    print(f"{process.args[2]} exited with {process.returncode}", file=sys.stderr)
                    return 1
            if not first_seen or args.until_events:
                held = count_events(base, token, args.device)
                if held and not first_seen:
                    first_seen = True
                    took = time.monotonic() - started
                    print(f"first plates in the console {took:.0f} s after the edge started", flush=True)
                if args.until_events and held >= args.until_events:
                    print(f"central holds {args.until_events}+ events of {args.device}", flush=True)
                    return 0
            if deadline is not None and time.monotonic() > deadline:
                print("timed out waiting for events", file=sys.stderr)
                return 1
            time.sleep(1.0)
    except KeyboardInterrupt:
        return 0
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    sys.exit(main())
