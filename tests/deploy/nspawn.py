"""Booted Debian 12 containers (systemd-nspawn) on a private bridge, reached over SSH like real hosts.

Each container is a fresh copy of the cached rootfs (debian_rootfs.py) with a static address on a
bridge of its own, SSH with a throwaway key, and no route to anywhere else: the hosts are offline.
Everything made here (containers, the bridge, their folders) is removed by `close()`, also after a
failure; a bridge left behind by a killed run is removed by the next run (its name holds the pid).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BRIDGE_PREFIX = "anprt"
# <owner pid>-<container>.pid files: the nspawn process of each running container, so that a run
# killed before its clean-up has its containers stopped by the next run.
RUNNING_DIR = Path("/run/anpr-nspawn-test")
SSH_OPTIONS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
]


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]


def wait_until(what: str, condition, timeout_s: float, interval_s: float = 2.0):
    """Poll `condition` until it returns something truthy; fail naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except (subprocess.SubprocessError, OSError) as error:
            last_error = error
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s (last error: {last_error})")
        time.sleep(interval_s)


def remove_stale_bridges() -> None:
    """Containers and bridges of earlier runs whose process is gone (killed before its clean-up)."""
    for pid_file in RUNNING_DIR.glob("*.pid") if RUNNING_DIR.exists() else []:
        owner = pid_file.name.split("-", 1)[0]
        if Path(f"/proc/{owner}").exists():
            continue
        nspawn_pid = int(pid_file.read_text() or 0)
        comm = Path(f"/proc/{nspawn_pid}/comm")
        if nspawn_pid and comm.exists() and comm.read_text().strip() == "systemd-nspawn":
            with contextlib.suppress(ProcessLookupError):
                os.killpg(nspawn_pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
    links = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True)
    for name in re.findall(rf"^\d+: ({BRIDGE_PREFIX}(\d+))[:@]", links.stdout, re.M):
        bridge, pid = name
        if not Path(f"/proc/{pid}").exists():
            subprocess.run(["ip", "link", "delete", bridge], capture_output=True)


@dataclass
class Container:
    name: str
    address: str
    root: Path
    key: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def ssh(
        self, command: str, timeout_s: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = ["ssh", *SSH_OPTIONS, "-i", str(self.key), f"root@{self.address}", command]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{self.name}: `{command}` exited {result.returncode}: "
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        return result


@dataclass
class Network:
    """A bridge with the host at .1 and containers at .2, .3, ...; no forwarding, no default route."""

    work_dir: Path
    tarball: Path
    bridge: str = field(default_factory=lambda: f"{BRIDGE_PREFIX}{os.getpid()}")
    subnet: str = field(default_factory=lambda: f"10.213.{os.getpid() % 250}")
    containers: list[Container] = field(default_factory=list)

    def __post_init__(self) -> None:
        remove_stale_bridges()
        self.key = self.work_dir / "id_ed25519"
        if not self.key.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)])
        subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _run(["ip", "address", "add", f"{self.subnet}.1/24", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])

    def address(self, index: int) -> str:
        return f"{self.subnet}.{index + 2}"

    def boot(self, name: str) -> Container:
        """Unpack a fresh rootfs, give it an address, SSH key and hostname, boot it, wait for SSH."""
        index = len(self.containers)
        root = self.work_dir / name
        root.mkdir()
        _run(["tar", "-xf", str(self.tarball), "-C", str(root)])
        container = Container(
            name=name, address=self.address(index), root=root, key=self.key, log=self.work_dir / f"{name}.log"
        )
        self.containers.append(container)
        (root / "etc/hostname").write_text(name + "\n")
        network = root / "etc/systemd/network"
        network.mkdir(parents=True, exist_ok=True)
        (network / "10-host0.network").write_text(
            f"[Match]\nName=host0\n\n[Network]\nAddress={container.address}/24\nLinkLocalAddressing=no\n"
        )
        wants = root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        link = wants / "systemd-networkd.service"
        if not link.exists():
            link.symlink_to("/lib/systemd/system/systemd-networkd.service")
        ssh_dir = root / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(Path(f"{self.key}.pub").read_text())
        (ssh_dir / "authorized_keys").chmod(0o600)
        with open(container.log, "wb") as log:
            container.process = subprocess.Popen(
                [
                    "systemd-nspawn",
                    "--register=no",
                    "--keep-unit",
                    "--quiet",
                    "-D",
                    str(root),
                    "-M",
                    name,
                    f"--network-bridge={self.bridge}",
                    "--console=passive",
                    "-b",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        RUNNING_DIR.mkdir(exist_ok=True)
        (RUNNING_DIR / f"{os.getpid()}-{name}.pid").write_text(str(container.process.pid))

        def ssh_answers() -> bool:
            if container.process is not None and container.process.poll() is not None:
                raise AssertionError(f"{name} stopped while booting: {container.log.read_text()[-3000:]}")
            return container.ssh("true", timeout_s=15, check=False).returncode == 0

        wait_until(f"{name} answers SSH", ssh_answers, timeout_s=180)
        state = container.ssh("systemctl is-system-running --wait", timeout_s=180, check=False).stdout.strip()
        assert state in {"running", "degraded"}, f"{name}: system state {state}"
        return container

    def close(self) -> None:
        for container in self.containers:
            # The journal goes with the container: keep its end beside the logs for a post-mortem.
            if container.process is not None and container.process.poll() is None:
                with contextlib.suppress(subprocess.SubprocessError, OSError):
                    journal = container.ssh("journalctl -b --no-pager -n 2000", timeout_s=60, check=False)
                    (self.work_dir / f"{container.name}-journal.log").write_text(journal.stdout)
            process = container.process
            if process is not None and process.poll() is None:
                # SIGTERM asks nspawn for an orderly shutdown of the container; then force it.
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=30)
        subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
        for container in self.containers:
            subprocess.run(["rm", "-rf", "--one-file-system", str(container.root)], capture_output=True)
            (RUNNING_DIR / f"{os.getpid()}-{container.name}.pid").unlink(missing_ok=True)


def quoted(*words: str) -> str:
    return " ".join(shlex.quote(word) for word in words)
