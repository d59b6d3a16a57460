"""The example broker files in deploy/mosquitto are exactly what the code generates."""

from __future__ import annotations

from pathlib import Path

from provisioning.acl import render_acl
from provisioning.broker_config import BrokerLayout, render_broker_config
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
