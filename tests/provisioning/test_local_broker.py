"""The private Mosquitto that tests run: ports it can really bind, and errors that say why."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from provisioning.local_broker import BrokerError, LocalBroker, find_mosquitto, free_ports, port_in_use


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(50):
        ports = free_ports(3)
        assert len(set(ports)) == 3
        assert all(not port_in_use(port) for port in ports)
        if floor - 20000 >= 1000:
            assert all(20000 <= port < floor for port in ports)


def test_a_port_held_on_ipv4_is_in_use() -> None:
    port = free_ports(1)[0]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        assert port_in_use(port)
    assert not port_in_use(port)


def test_a_port_held_on_ipv6_alone_is_in_use() -> None:
    # Mosquitto's TLS listeners bind the IPv6 wildcard too, so such a port makes it exit.
    try:
        held = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        held.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        held.bind(("::1", free_ports(1)[0]))
    except OSError as error:
        pytest.skip(f"no IPv6 loopback on this machine: {error}")
    with held:
        held.listen()
        port = held.getsockname()[1]
        assert port_in_use(port)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ipv4:
            ipv4.bind(("0.0.0.0", port))  # an IPv4-only check would have called it free


def test_a_broker_that_cannot_bind_says_so_from_its_log(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", free_ports(1)[0]))  # bound, not listening: connecting is refused
        broker = LocalBroker(tmp_path, port=held.getsockname()[1])
        with pytest.raises(BrokerError, match="Address already in use"):
            broker.start()
