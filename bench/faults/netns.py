"""Three network namespaces (edge box, broker, central) joined by a bridge, and the network faults.

    broker ns   br0 10.N.0.1/24, Mosquitto listens here
                 ├── veth ── edge ns      edge0     10.N.0.2/24
                 └── veth ── central ns   central0  10.N.0.3/24

Every link is made inside the namespaces (nothing is added to the root namespace but the
namespaces themselves), names carry a random suffix so runs never collide, and `teardown()`
kills what still runs inside them and deletes them.

Packet loss is tc netem where the kernel has sch_netem; otherwise nftables drops packets at
random (`numgen random mod 100 < P drop`) on the edge box's input and output, which is the same
fault at the IP layer (many CI kernels, this one included, ship without sch_netem).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from provisioning.local_broker import find_mosquitto

EDGE_IF, CENTRAL_IF = "edge0", "central0"
NFT_TABLE = "anpr_faults"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def ns_exec(namespace: str, argv: Sequence[str]) -> list[str]:
    """The command line that runs argv inside a namespace (ip execs it: the pid is argv's own)."""
    return ["ip", "netns", "exec", namespace, *argv]


def _run_in(namespace: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ns_exec(namespace, argv), capture_output=True, text=True, check=check)


def _loss_method(namespace: str, interface: str) -> str | None:
    """'netem' or 'nft' when this kernel and these tools can drop packets in `namespace`."""
    if shutil.which("tc"):
        probe = _run_in(
            namespace, "tc", "qdisc", "add", "dev", interface, "root", "netem", "loss", "0%", check=False
        )
        if probe.returncode == 0:
            _run_in(namespace, "tc", "qdisc", "del", "dev", interface, "root", check=False)
            return "netem"
    if shutil.which("nft"):
        probe = _run_in(namespace, "nft", "add", "table", "inet", NFT_TABLE, check=False)
        if probe.returncode == 0:
            _run_in(namespace, "nft", "delete", "table", "inet", NFT_TABLE, check=False)
            return "nft"
    return None


def missing_requirements() -> str | None:
    """Why the fault suite cannot run here, or None when it can (root, ip netns, veth, loss)."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs the ip command (iproute2)"
    if find_mosquitto() is None:
        return "needs the mosquitto binary"
    probe = f"fault-probe-{secrets.token_hex(3)}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    try:
        veth = _ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1", check=False)
        if veth.returncode != 0:
            return f"cannot create a veth pair: {veth.stderr.strip()}"
        if _loss_method(probe, "p0") is None:
            return "no way to drop packets: neither tc netem (sch_netem) nor nftables (nft) works here"
    finally:
        _ip("netns", "del", probe, check=False)
    return None


@dataclass
class Network:
    """The namespaces of one run; create() builds them, teardown() removes them."""

    suffix: str
    subnet: int  # the N of 10.N.0.0/24
    loss_method: str = ""

    @property
    def edge(self) -> str:
        return f"fault-edge-{self.suffix}"

    @property
    def broker(self) -> str:
        return f"fault-broker-{self.suffix}"

    @property
    def central(self) -> str:
        return f"fault-central-{self.suffix}"

    @property
    def broker_ip(self) -> str:
        return f"10.{self.subnet}.0.1"

    @property
    def edge_ip(self) -> str:
        return f"10.{self.subnet}.0.2"

    @property
    def central_ip(self) -> str:
        return f"10.{self.subnet}.0.3"

    @classmethod
    def create(cls) -> Network:
        network = cls(secrets.token_hex(3), 100 + secrets.randbelow(150))
        try:
            network._build()
        except BaseException:
            network.teardown()
            raise
        return network

    def _build(self) -> None:
        for namespace in (self.edge, self.broker, self.central):
            _ip("netns", "add", namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
        b = self.broker
        _ip("-n", b, "link", "add", "br0", "type", "bridge")
        _ip("-n", b, "addr", "add", f"{self.broker_ip}/24", "dev", "br0")
        _ip("-n", b, "link", "set", "br0", "up")
        for namespace, interface, address in (
            (self.edge, EDGE_IF, self.edge_ip),
            (self.central, CENTRAL_IF, self.central_ip),
        ):
            port = f"{interface}-br"
            _ip("-n", b, "link", "add", port, "type", "veth", "peer", "name", interface, "netns", namespace)
            _ip("-n", b, "link", "set", port, "master", "br0")
            _ip("-n", b, "link", "set", port, "up")
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", interface)
            _ip("-n", namespace, "link", "set", interface, "up")
        method = _loss_method(self.edge, EDGE_IF)
        if method is None:
            raise RuntimeError("no way to drop packets: neither tc netem nor nftables works here")
        self.loss_method = method

    # --- faults on the edge box's link -----------------------------------------------------------

    def cut_edge_link(self) -> None:
        """The edge box's cable is pulled: its interface goes down (the bridge port loses carrier)."""
        _ip("-n", self.edge, "link", "set", EDGE_IF, "down")

    def restore_edge_link(self) -> None:
        _ip("-n", self.edge, "link", "set", EDGE_IF, "up")

    def set_edge_loss(self, percent: int) -> None:
        """Drop `percent`% of the edge box's packets, both ways."""
        if not 0 < percent <= 100:
            raise ValueError(f"packet loss must be 1-100%, not {percent}")
        if self.loss_method == "netem":
            # netem acts on egress: once on the box's interface, once on the bridge port towards it.
            netem = ("root", "netem", "loss", f"{percent}%")
            _run_in(self.edge, "tc", "qdisc", "add", "dev", EDGE_IF, *netem)
            _run_in(self.broker, "tc", "qdisc", "add", "dev", f"{EDGE_IF}-br", *netem)
            return
        drop = "drop;" if percent == 100 else f"numgen random mod 100 < {percent} drop;"
        rules = (
            f"table inet {NFT_TABLE} {{\n"
            f"  chain input {{ type filter hook input priority 0; {drop} }}\n"
            f"  chain output {{ type filter hook output priority 0; {drop} }}\n"
            "}\n"
        )
        subprocess.run(
            ns_exec(self.edge, ["nft", "-f", "-"]), input=rules, text=True, check=True, capture_output=True
        )

    def clear_edge_loss(self) -> None:
        if self.loss_method == "netem":
            _run_in(self.edge, "tc", "qdisc", "del", "dev", EDGE_IF, "root", check=False)
            _run_in(self.broker, "tc", "qdisc", "del", "dev", f"{EDGE_IF}-br", "root", check=False)
        else:
            _run_in(self.edge, "nft", "delete", "table", "inet", NFT_TABLE, check=False)

    # --- state -----------------------------------------------------------------------------------

    def listening(self, namespace: str, port: int) -> bool:
        out = _run_in(namespace, "ss", "-Hltn", f"sport = :{port}", check=False).stdout
        return bool(out.strip())

    def teardown(self) -> None:
        """Kill whatever still runs in our namespaces (only processes this run started live there),
        then delete them. Safe to call twice and on a half-built network."""
        for namespace in (self.edge, self.broker, self.central):
            pids = _ip("netns", "pids", namespace, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", namespace, check=False)
