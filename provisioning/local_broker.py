"""A private Mosquitto process for tests, benchmarks and a developer's laptop.

It writes a minimal mosquitto.conf into its own directory (one listener on 127.0.0.1, optional
password file, ACL file and TLS files, persistence on) and can be stopped gracefully (SIGTERM: the
broker saves its persistence file), killed (SIGKILL: nothing is saved) and started again on the
same port with the same persisted state.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(RuntimeError):
    """The broker binary is missing or the process did not come up."""


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in MOSQUITTO_CANDIDATES if os.access(path, os.X_OK)), None)


# Ports are picked below the kernel's ephemeral range: a port from that range, free when checked,
# can be handed to any outgoing connection (a test's own client, say) before the broker binds it,
# and Mosquitto then exits with "Address already in use".
_PORT_FLOOR = 20000


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_in_use(port: int) -> bool:
    """Whether something holds `port` on the IPv4 or the IPv6 wildcard address. Mosquitto's TLS
    listeners bind both, and a port held on IPv6 alone is invisible to an IPv4 check."""
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this machine: nothing can hold the port there
        with sock:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((host, port))
            except OSError as error:
                if error.errno == errno.EADDRINUSE or family == socket.AF_INET:
                    return True
    return False


def free_ports(count: int) -> tuple[int, ...]:
    """`count` distinct TCP ports, each free on every interface, outside the kernel's ephemeral
    range. Distinct matters: three independent picks for one broker's listeners can coincide."""
    ceiling = _ephemeral_floor()
    rng = random.SystemRandom()
    if ceiling - _PORT_FLOOR >= 1000:
        ports: list[int] = []
        for _ in range(100 * count):
            port = rng.randrange(_PORT_FLOOR, ceiling)
            if port not in ports and not port_in_use(port):
                ports.append(port)
                if len(ports) == count:
                    return tuple(ports)
    # No room below the ephemeral range: let the kernel choose, holding each socket until all are
    # chosen so that it cannot hand out one port twice.
    held = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in held:
            sock.bind(("0.0.0.0", 0))
        return tuple(int(sock.getsockname()[1]) for sock in held)
    finally:
        for sock in held:
            sock.close()


def free_port() -> int:
    """One port as free_ports picks them."""
    return free_ports(1)[0]


@dataclass(frozen=True)
class BrokerTls:
    ca_file: Path  # CA that signed the server certificate and the device certificates
    cert_file: Path
    key_file: Path
    require_certificate: bool = True
    use_identity_as_username: bool = False


class LocalBroker:
    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        tls: BrokerTls | None = None,
        persistence: bool = True,
        max_inflight_messages: int = 100,
        config_text: str | None = None,
        extra_ports: tuple[int, ...] = (),
    ) -> None:
        """config_text replaces the generated mosquitto.conf; start() then waits for `port` and
        every one of `extra_ports` to listen."""
        binary = find_mosquitto()
        if binary is None:
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self._ports = (self.port, *extra_ports)
        self.host = "127.0.0.1"
        self.config_file = self.workdir / "mosquitto.conf"
        self.log_file = self.workdir / "mosquitto.log"
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if password_file or tls else 'true'}",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "persistence_file mosquitto.db",
            "autosave_interval 30",
            # Tests and catch-up runs queue thousands of messages for an offline subscriber.
            "max_queued_messages 0",
            f"max_inflight_messages {max_inflight_messages}",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise mosquitto drops to a user that cannot read workdir
        if password_file is not None or tls is not None:
            # As on the provisioned broker: a login has one client id, so one session.
            lines.append("use_username_as_clientid true")
        if password_file is not None:
            lines.append(f"password_file {password_file}")
        if acl_file is not None:
            lines.append(f"acl_file {acl_file}")
        if tls is not None:
            lines += [
                f"cafile {tls.ca_file}",
                f"certfile {tls.cert_file}",
                f"keyfile {tls.key_file}",
                f"require_certificate {'true' if tls.require_certificate else 'false'}",
                f"use_identity_as_username {'true' if tls.use_identity_as_username else 'false'}",
            ]
        text = config_text if config_text is not None else "\n".join(lines) + "\n"
        self.config_file.write_text(text, encoding="utf-8")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            raise BrokerError("the broker is already running")
        self._process = subprocess.Popen(
            [self.binary, "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        waiting = list(self._ports)
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                # Once its log file is open Mosquitto writes its errors there, not to stderr.
                log_tail = "\n".join(self.log_text().splitlines()[-5:])
                raise BrokerError(
                    f"mosquitto exited with {self._process.returncode}: {stderr.strip()}\n"
                    f"its log ({self.log_file}) ends: {log_tail}"
                )
            try:
                with socket.create_connection((self.host, waiting[0]), timeout=0.2):
                    waiting.pop(0)
                if not waiting:
                    return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise BrokerError(f"mosquitto did not listen on {self.host} ports {self._ports} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop: mosquitto writes its persistence file before exiting."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Abrupt stop: whatever was not autosaved is gone, like a power cut of the broker."""
        self._end(signal.SIGKILL, 10.0)

    def reload(self) -> None:
        """SIGHUP: mosquitto re-reads its password file and ACL (and, per listener, its certificates)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGHUP)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing is read or acknowledged."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused broker cannot act on SIGTERM
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
        if process.stderr is not None:
            process.stderr.close()

    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
