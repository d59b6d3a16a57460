"""The example broker files in deploy/mosquitto are exactly what the code generates."""

from __future__ import annotations

from pathlib import Path

from common.config import load_edge_config
from provisioning import layout
from provisioning.acl import render_acl
from provisioning.broker_config import BrokerLayout, render_broker_config
from provisioning.provisioner import Provisioner
from provisioning.registry import Account

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


def test_the_shipped_mosquitto_conf_is_the_rendered_one() -> None:
    layout = BrokerLayout(
        files_dir=Path("/etc/mosquitto/anpr"),
        persistence_dir=Path("/var/lib/mosquitto"),
        log_file=Path("/var/log/mosquitto/mosquitto.log"),
    )
    assert (DEPLOY / "anpr.conf").read_text() == render_broker_config(layout)
    assert "allow_anonymous true" not in (DEPLOY / "anpr.conf").read_text()


def test_the_shipped_acl_example_is_the_generated_one() -> None:
    created = "2026-01-01T00:00:00+00:00"
    accounts = [
        Account("central", "central", created),
        Account("site-1/gate.north", "device", created, "site-1", "gate.north"),
        Account("site-1/gate.south", "device", created, "site-1", "gate.south"),
    ]
    assert (DEPLOY / "acl.example").read_text() == render_acl(accounts)


def _listener_blocks(conf: str) -> dict[int, str]:
    """The shipped config's listeners: port -> that listener's block of lines."""
    blocks: dict[int, str] = {}
    for block in conf.split("\n\n"):
        first = next((line for line in block.splitlines() if line.startswith("listener ")), None)
        if first is not None:
            blocks[int(first.split()[1])] = block
    return blocks


def test_each_kind_of_device_is_sent_to_the_broker_listener_for_its_login(tmp_path: Path) -> None:
    listeners = _listener_blocks((DEPLOY / "anpr.conf").read_text())
    prov = Provisioner(tmp_path)
    kinds: dict[str, dict[str, bool]] = {"plain": {}, "tls": {"tls": True}, "cert": {"client_cert": True}}
    ports: dict[str, int] = {}
    for name, options in kinds.items():
        bundle = prov.add_device("site-1", name, use_tool=False, **options)
        ports[name] = load_edge_config(bundle.directory / layout.EDGE_CONFIG).mqtt.port
    assert ports == {"plain": layout.PLAIN_PORT, "tls": layout.TLS_PORT, "cert": layout.CLIENT_CERT_PORT}
    assert sorted(listeners) == sorted(ports.values())
    assert "password_file" in listeners[ports["plain"]] and "certfile" not in listeners[ports["plain"]]
    assert "password_file" in listeners[ports["tls"]] and "require_certificate" not in listeners[ports["tls"]]
    assert "require_certificate true" in listeners[ports["cert"]]
    assert "use_identity_as_username true" in listeners[ports["cert"]]
