"""A bundle as the box runs it under systemd: edge.yaml names root-only files in /etc/anpr/credentials
that the agent cannot open, and the secrets arrive as credentials in $CREDENTIALS_DIRECTORY."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from provisioning_helpers import FleetBroker

from common.config import EdgeConfig, load_edge_config
from common.credentials import MQTT_CLIENT_KEY, MQTT_PASSWORD
from common.mqtt import build_client
from provisioning import layout
from provisioning.provisioner import Provisioner

pytestmark = pytest.mark.broker


def connack(client: mqtt.Client, port: int) -> bool:
    """Connect to the local broker and report whether it accepted the login."""
    answered = threading.Event()
    accepted: list[bool] = []

    def on_connect(c: mqtt.Client, u: object, flags: object, reason: object, p: object) -> None:
        accepted.append(not getattr(reason, "is_failure", True))
        answered.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert answered.wait(10), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return accepted[0]


def systemd_credentials(bundle: Path, into: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the unit's LoadCredential= lines (and the client-key drop-in) give the agent."""
    into.mkdir()
    for secret, name in layout.CREDENTIAL_NAMES.items():
        if (bundle / secret).exists():
            shutil.copy(bundle / secret, into / name)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(into))


def installed_config(bundle: Path, port: int) -> EdgeConfig:
    """The bundle's edge.yaml as written for /etc/anpr; only the public files are taken from the
    bundle (they are not in /etc/anpr on this machine), the secrets' paths are left as they are."""
    config = load_edge_config(bundle / layout.EDGE_CONFIG)
    assert str(config.store.key_file).startswith("/etc/anpr/credentials/")
    public = {"port": port, "ca_file": bundle / layout.BROKER_CA}
    if config.mqtt.cert_file is not None:
        public["cert_file"] = bundle / layout.CLIENT_CERT
    return config.model_copy(update={"mqtt": config.mqtt.model_copy(update=public)})


def test_a_password_box_logs_in_with_its_credential(
    fleet: Provisioner, fleet_broker: FleetBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = fleet.add_device("site-3", "kiosk", tls=True, broker_host="127.0.0.1").directory
    fleet_broker.broker.restart()
    config = installed_config(bundle, fleet_broker.tls_port)
    assert config.mqtt.password_file == layout.CONFIG_DIR / layout.MQTT_PASSWORD
    assert not config.mqtt.password_file.exists()
    systemd_credentials(bundle, tmp_path / "credentials", monkeypatch)
    assert (tmp_path / "credentials" / MQTT_PASSWORD).exists()
    assert connack(build_client(config.mqtt, "site-3-kiosk"), fleet_broker.tls_port)


def test_a_certificate_box_logs_in_with_its_key_credential(
    fleet: Provisioner, fleet_broker: FleetBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = fleet.add_device("site-2", "barrier", client_cert=True, broker_host="127.0.0.1").directory
    fleet_broker.broker.restart()
    config = installed_config(bundle, fleet_broker.cert_port)
    assert config.mqtt.key_file == layout.CONFIG_DIR / layout.CLIENT_KEY
    assert not config.mqtt.key_file.exists()
    systemd_credentials(bundle, tmp_path / "credentials", monkeypatch)
    assert (tmp_path / "credentials" / MQTT_CLIENT_KEY).exists()
    assert connack(build_client(config.mqtt, "site-2-barrier"), fleet_broker.cert_port)
