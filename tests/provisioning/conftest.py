"""A provisioned fleet and a private Mosquitto running the rendered anpr broker config."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from provisioning_helpers import FleetBroker

from provisioning.broker_config import BrokerLayout, render_broker_config
from provisioning.local_broker import LocalBroker, find_mosquitto, free_ports
from provisioning.provisioner import Provisioner


@pytest.fixture(scope="session")
def fleet_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Provisioned once (key generation and hashing are the slow part), copied for each test."""
    root = tmp_path_factory.mktemp("fleet") / "prov"
    provisioner = Provisioner(root)
    provisioner.add_device("site-1", "gate.north", install_dir=provisioner.device_dir("site-1", "gate.north"))
    provisioner.add_device("site-1", "gate.south", install_dir=provisioner.device_dir("site-1", "gate.south"))
    provisioner.add_device(
        "site-2", "lot", client_cert=True, install_dir=provisioner.device_dir("site-2", "lot")
    )
    provisioner.add_central()
    provisioner.server_cert(["127.0.0.1", "localhost"])
    return root


@pytest.fixture
def fleet(fleet_template: Path, tmp_path: Path) -> Provisioner:
    # The device edge.yaml files point at the template's directories: tests read them, never write.
    root = tmp_path / "prov"
    shutil.copytree(fleet_template, root)
    return Provisioner(root)


@pytest.fixture
def fleet_broker(fleet: Provisioner, tmp_path: Path) -> Iterator[FleetBroker]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    plain, tls, cert = free_ports(3)
    layout = BrokerLayout(
        files_dir=fleet.broker_dir,
        persistence_dir=tmp_path / "broker-data",
        log_file=tmp_path / "broker-data" / "mosquitto.log",
        plain_port=plain,
        tls_port=tls,
        cert_port=cert,
        run_as_root=True,
    )
    (tmp_path / "broker-data").mkdir()
    broker = LocalBroker(
        tmp_path / "broker-data",
        port=plain,
        config_text=render_broker_config(layout),
        extra_ports=(tls, cert),
    )
    broker.start()
    yield FleetBroker(broker, plain, tls, cert)
    broker.stop()
