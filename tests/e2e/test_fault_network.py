"""The fault suite's network (bench/faults/netns.py): three namespaces joined by a bridge, faults that
really cut the edge box off, and a teardown that leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from bench.faults.netns import Network, missing_requirements, ns_exec


@pytest.fixture(scope="module", autouse=True)
def _requirements() -> None:
    reason = missing_requirements()  # root, ip netns, netem or nftables, Mosquitto
    if reason is not None:
        pytest.skip(f"fault network: {reason}")


PORT = 1883
LISTEN = (
    "import socket, sys\ns = socket.create_server((sys.argv[1], int(sys.argv[2])))\nwhile True: s.accept()"
)
CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)"


@pytest.fixture
def network() -> Iterator[Network]:
    built = Network.create()
    yield built
    built.teardown()


def listen(network: Network) -> subprocess.Popen[bytes]:
    """A TCP listener on the broker's address, in the broker namespace (like Mosquitto)."""
    server = subprocess.Popen(
        ns_exec(network.broker, [sys.executable, "-c", LISTEN, network.broker_ip, str(PORT)])
    )
    deadline = time.monotonic() + 10
    while not network.listening(network.broker, PORT):
        assert time.monotonic() < deadline, "the listener did not start"
        time.sleep(0.05)
    return server


def reaches_broker(network: Network, namespace: str) -> bool:
    probe = subprocess.run(
        ns_exec(namespace, [sys.executable, "-c", CONNECT, network.broker_ip, str(PORT)]), capture_output=True
    )
    return probe.returncode == 0


def names() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


def test_the_edge_box_and_central_reach_the_broker_over_the_bridge(network: Network) -> None:
    listen(network)
    assert reaches_broker(network, network.edge)
    assert reaches_broker(network, network.central)


def test_a_cut_link_isolates_the_edge_box_until_it_is_restored(network: Network) -> None:
    listen(network)
    network.cut_edge_link()
    assert not reaches_broker(network, network.edge)
    assert reaches_broker(network, network.central)  # only the edge box's cable was pulled
    network.restore_edge_link()
    assert reaches_broker(network, network.edge)


def test_packet_loss_drops_the_edge_box_packets_until_cleared(network: Network) -> None:
    listen(network)
    network.set_edge_loss(100)  # every packet: a connection attempt cannot get through
    assert not reaches_broker(network, network.edge)
    assert reaches_broker(network, network.central)
    network.clear_edge_loss()
    assert reaches_broker(network, network.edge)


def test_teardown_kills_what_runs_inside_and_deletes_the_namespaces() -> None:
    network = Network.create()
    server = listen(network)
    assert network.edge in names()
    network.teardown()
    assert server.wait(10) is not None
    listed = names()
    assert all(name not in listed for name in (network.edge, network.broker, network.central))
