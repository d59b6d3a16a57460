"""The suite's real processes: Mosquitto with the provisioned config, central replicas and the edge
box, each started inside its namespace and stopped (SIGTERM) or killed (SIGKILL) by pid."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.faults.children import read_json
from bench.faults.netns import Network, ns_exec
from provisioning.broker_config import BrokerLayout, render_broker_config
from provisioning.local_broker import find_mosquitto

REPO = Path(__file__).resolve().parents[2]
MQTT_PORT = 1883


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


class Child:
    """One process in a namespace; `ip netns exec` execs the command, so the pid is the program's."""

    def __init__(self, name: str, argv: list[str], log_file: Path) -> None:
        self.name, self.argv, self.log_file = name, argv, log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def flags(**values: object) -> list[str]:
    """Command-line flags: flags(rate=25, password_file=p) -> ["--rate", "25", "--password-file", "p"]."""
    return [item for key, value in values.items() for item in (f"--{key.replace('_', '-')}", str(value))]


def child_argv(namespace: str, role: str, args: list[str]) -> list[str]:
    """`python -m bench.faults.children ROLE ARGS` inside a namespace (cwd: the checkout)."""
    return ns_exec(namespace, [sys.executable, "-m", "bench.faults.children", role, *args])


class Broker(Child):
    """Mosquitto in the broker namespace, running provisioning's rendered config and ACL."""

    def __init__(self, network: Network, files_dir: Path, workdir: Path) -> None:
        data = workdir / "broker"
        data.mkdir(parents=True, exist_ok=True)
        layout = BrokerLayout(
            files_dir=files_dir,
            persistence_dir=data,
            log_file=data / "mosquitto.log",
            bind_plain=network.broker_ip,
            plain_port=MQTT_PORT,
            tls_port=None,
            cert_port=None,
            run_as_root=True,
        )
        config = data / "mosquitto.conf"
        config.write_text(render_broker_config(layout), encoding="utf-8")
        binary = find_mosquitto()
        assert binary is not None
        super().__init__("broker", ns_exec(network.broker, [binary, "-c", str(config)]), data / "stderr.log")
        self.network = network
        self.mosquitto_log = data / "mosquitto.log"

    def start(self) -> None:
        super().start()
        if not wait_for(lambda: self.network.listening(self.network.broker, MQTT_PORT), 15, 0.05):
            raise RuntimeError(
                f"mosquitto did not listen; {self.log_file.read_text(errors='replace')[-2000:]}"
            )

    def log_text(self) -> str:
        if not self.mosquitto_log.exists():
            return ""
        return self.mosquitto_log.read_text(encoding="utf-8", errors="replace")


class CentralReplica(Child):
    """One central replica in the central namespace; ready once connected and subscribed."""

    def __init__(
        self, network: Network, workdir: Path, username: str, password_file: Path, db_url: str, schema: str
    ) -> None:
        self.ready_file = workdir / f"{username}.ready"
        self.status_file = workdir / f"{username}-status.json"
        args = flags(
            host=network.broker_ip,
            port=MQTT_PORT,
            password_file=password_file,
            username=username,
            db_url=db_url,
            schema=schema,
            ready_file=self.ready_file,
            status_file=self.status_file,
        )
        super().__init__(username, child_argv(network.central, "central", args), workdir / f"{username}.log")
        self.stored_before = 0  # what earlier lives of this replica stored (the status restarts at 0)

    def start(self) -> None:
        self.ready_file.unlink(missing_ok=True)
        self.stored_before = self.stored()
        self.status_file.unlink(missing_ok=True)
        super().start()
        if not wait_for(lambda: self.ready_file.exists() or not self.running, 90, 0.1) or not self.running:
            raise RuntimeError(
                f"{self.name} did not connect; {self.log_file.read_text(errors='replace')[-2000:]}"
            )

    def stored(self) -> int:
        return self.stored_before + int(read_json(self.status_file).get("stored", 0))


class EdgeBox(Child):
    """The edge box in its namespace; its state comes from the JSON status file it rewrites."""

    def __init__(self, network: Network, workdir: Path, args: list[str]) -> None:
        self.status_file = workdir / "edge-status.json"
        self.ids_file = workdir / "edge-ids.txt"
        args = flags(host=network.broker_ip, port=MQTT_PORT, workdir=workdir) + args
        super().__init__("edge", child_argv(network.edge, "edge", args), workdir / "edge.log")

    def status(self) -> dict[str, Any]:
        return read_json(self.status_file)

    def counter(self, name: str) -> int:
        return int(self.status().get("counters", {}).get(name, 0))

    def pending(self) -> int:
        return int(self.status().get("pending", 0))

    def produced(self) -> int:
        return int(self.status().get("produced", 0))

    def oldest_pending(self) -> int:
        return int(self.status().get("oldest_pending", 0))

    def event_ids(self) -> list[str]:
        return self.ids_file.read_text(encoding="utf-8").split()
