"""Read-only integration logins: created, listed, rotated and revoked like devices, enforced by a
real Mosquitto (they read events, decisions and status of their site, and write nothing)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from provisioning_helpers import FleetBroker, Session

from common.topics import device_topic
from provisioning import layout
from provisioning.cli import main
from provisioning.provisioner import Provisioner

pytestmark = pytest.mark.broker
NORTH = ("site-1", "gate.north")


def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _login(fleet: Provisioner, port: int, name: str, password: str | None = None) -> Session:
    secret = password or fleet.integration_password_path(name).read_text().strip()
    return Session(port, f"dash-{time.monotonic_ns()}", f"integration-{name}", secret)


def _accepts(fleet: Provisioner, port: int, name: str, password: str | None = None) -> bool:
    session = _login(fleet, port, name, password)
    session.close()
    return session.accepted


def test_integration_reads_its_site_and_writes_nothing(fleet: Provisioner, fleet_broker: FleetBroker) -> None:
    fleet.add_integration("dash", "site-1", use_tool=False)
    fleet_broker.broker.reload()
    assert _eventually(lambda: _accepts(fleet, fleet_broker.plain_port, "dash"))
    dash = _login(fleet, fleet_broker.plain_port, "dash")
    for kind in ("events", "decisions", "status", "config", "watchlists"):
        assert not dash.subscribe(f"anpr/v1/+/+/{kind}").is_failure  # Mosquitto checks on delivery
    device = Session(
        fleet_broker.plain_port,
        "north-box",
        "site-1/gate.north",
        (fleet.device_dir(*NORTH) / layout.MQTT_PASSWORD).read_text().strip(),
    )
    for kind in ("events", "decisions", "status"):
        assert not device.publish(device_topic(*NORTH, kind), kind.encode()).is_failure
    assert dash.publish(device_topic(*NORTH, "events"), b"forged").is_failure  # read-only
    assert dash.publish(device_topic(*NORTH, "watchlists"), b"forged").is_failure
    device.publish(device_topic(*NORTH, "events"), b"marker")
    assert _eventually(lambda: any(m.payload == b"marker" for m in dash.messages))
    assert sorted(m.topic.rsplit("/", 1)[1] for m in dash.messages) == [
        "decisions",
        "events",
        "events",
        "status",
    ]
    dash.close()
    device.close()


def test_rotate_and_revoke(
    fleet: Provisioner, fleet_broker: FleetBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(fleet.root)
    assert main(["add-integration", "--out", root, "--name", "ha", "--no-mosquitto-passwd"]) == 0
    old = fleet.integration_password_path("ha").read_text().strip()
    assert main(["rotate-integration", "--out", root, "--name", "ha", "--no-mosquitto-passwd"]) == 0
    new = fleet.integration_password_path("ha").read_text().strip()
    assert new != old
    fleet_broker.broker.reload()
    assert _eventually(lambda: _accepts(fleet, fleet_broker.plain_port, "ha", new))
    assert not _accepts(fleet, fleet_broker.plain_port, "ha", old)
    assert main(["list", "--out", root]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("integration-ha")]
    assert "\tintegration\tactive\t" in listed[0] and "rotated" in listed[0]
    assert main(["revoke", "--out", root, "--username", "integration-ha"]) == 0
    fleet_broker.broker.reload()
    assert _eventually(lambda: not _accepts(fleet, fleet_broker.plain_port, "ha", new))
    assert "integration-ha" not in (fleet.root / "broker" / "acl").read_text()
    assert main(["rotate-integration", "--out", root, "--name", "ha", "--no-mosquitto-passwd"]) == 1
    assert "was revoked" in capsys.readouterr().err


def test_only_a_login_allowed_to_open_gates_can_press_the_button(
    fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    fleet.add_integration("viewer", "site-1", use_tool=False)
    fleet.add_integration("ha", "site-1", can_open_gates=True, use_tool=False)
    fleet_broker.broker.reload()
    assert _eventually(lambda: _accepts(fleet, fleet_broker.plain_port, "ha"))
    command = "anpr/v1/site-1/gate.north/ha/gate/barrier/open"
    box = Session(
        fleet_broker.plain_port,
        "north-box-2",
        "site-1/gate.north",
        (fleet.device_dir(*NORTH) / layout.MQTT_PASSWORD).read_text().strip(),
    )
    assert not box.subscribe(command).is_failure
    viewer = _login(fleet, fleet_broker.plain_port, "viewer")
    assert viewer.publish(command, b"PRESS").is_failure
    ha = _login(fleet, fleet_broker.plain_port, "ha")
    assert not ha.publish(command, b"PRESS").is_failure
    assert ha.publish("anpr/v1/site-1/gate.north/config", b"x").is_failure  # it still cannot push configs
    assert _eventually(lambda: [m.payload for m in box.messages] == [b"PRESS"])
    for session in (box, viewer, ha):
        session.close()
