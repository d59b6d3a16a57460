"""`python -m provisioning rotate`: a device gets a new MQTT login and keeps its store key."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from cryptography import x509
from provisioning_helpers import FleetBroker, Session

from common.topics import device_topic
from provisioning import layout
from provisioning.cli import main
from provisioning.passwords import read_password_file, verify_hash
from provisioning.provisioner import Provisioner

LOT = ("site-2", "lot")


def crl_serials(prov: Provisioner) -> set[int]:
    crl = x509.load_pem_x509_crl(prov.crl_file.read_bytes())
    return {revoked.serial_number for revoked in crl}


def cert_serial(bundle_dir: Path) -> int:
    return x509.load_pem_x509_certificate((bundle_dir / layout.CLIENT_CERT).read_bytes()).serial_number


def test_rotate_renews_the_password_and_keeps_the_store_key_and_edge_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path)
    assert main(["add-device", "--out", root, "--site", "s1", "--device", "d1", "--tls"]) == 0
    bundle = tmp_path / "devices" / "s1" / "d1"
    store_key = (bundle / layout.STORE_KEY).read_bytes()
    edge_yaml = (bundle / layout.EDGE_CONFIG).read_text()
    old_password = (bundle / layout.MQTT_PASSWORD).read_text().strip()
    capsys.readouterr()

    assert main(["rotate", "--out", root, "--site", "s1", "--device", "d1"]) == 0
    out = capsys.readouterr().out
    assert "store key and edge.yaml unchanged" in out and "SIGHUP" in out
    assert (bundle / layout.STORE_KEY).read_bytes() == store_key  # the box can still read its store
    assert (bundle / layout.EDGE_CONFIG).read_text() == edge_yaml
    new_password = (bundle / layout.MQTT_PASSWORD).read_text().strip()
    assert new_password != old_password
    stored = read_password_file(tmp_path / "broker" / "passwd")["s1/d1"]
    assert verify_hash(stored, new_password) and not verify_hash(stored, old_password)
    assert main(["list", "--out", root]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "active" in line and " rotated " in line


def test_rotate_issues_a_new_certificate_and_revokes_the_old_one(tmp_path: Path) -> None:
    prov = Provisioner(tmp_path)
    bundle = prov.add_device("s1", "cam", client_cert=True, use_tool=False)
    old = cert_serial(bundle.directory)
    store_key = (bundle.directory / layout.STORE_KEY).read_bytes()

    rotated = prov.rotate("s1", "cam", use_tool=False)
    new = cert_serial(bundle.directory)
    assert new != old and rotated.account.cert_serial == format(new, "x")
    assert crl_serials(prov) == {old}
    assert (bundle.directory / layout.STORE_KEY).read_bytes() == store_key
    assert sorted(p.relative_to(bundle.directory) for p in rotated.files) == sorted(
        [layout.MQTT_PASSWORD, layout.CLIENT_CERT, layout.CLIENT_KEY]
    )

    prov.rotate("s1", "cam", use_tool=False)  # every earlier certificate stays revoked
    assert crl_serials(Provisioner(tmp_path)) == {old, new}


def test_rotate_refuses_unknown_revoked_and_service_accounts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path)
    assert main(["rotate", "--out", root, "--site", "s1", "--device", "ghost"]) == 1
    assert "no device 's1/ghost'" in capsys.readouterr().err
    assert main(["add-device", "--out", root, "--site", "s1", "--device", "d1", "--no-mosquitto-passwd"]) == 0
    assert main(["revoke", "--out", root, "--site", "s1", "--device", "d1"]) == 0
    capsys.readouterr()
    assert main(["rotate", "--out", root, "--site", "s1", "--device", "d1"]) == 1
    assert "was revoked" in capsys.readouterr().err
    assert "s1/d1" not in read_password_file(tmp_path / "broker" / "passwd")  # no login came back


def test_add_device_on_an_active_device_points_at_rotate(tmp_path: Path) -> None:
    prov = Provisioner(tmp_path)
    prov.add_device("s1", "d1", use_tool=False)
    with pytest.raises(ValueError, match="`rotate` renews its MQTT login and keeps its store key"):
        prov.add_device("s1", "d1", use_tool=False)


def test_a_re_added_device_keeps_its_old_certificate_in_the_crl(tmp_path: Path) -> None:
    # The old certificate has the same CN, the broker's username for this device: were it dropped
    # from the CRL when the identity is re-issued, it would log in again.
    prov = Provisioner(tmp_path)
    old = cert_serial(prov.add_device("s1", "cam", client_cert=True, use_tool=False).directory)
    prov.revoke("s1/cam")
    new = cert_serial(prov.add_device("s1", "cam", client_cert=True, use_tool=False).directory)
    assert crl_serials(prov) == {old}
    assert new not in crl_serials(prov)


@pytest.mark.broker
def test_after_rotation_only_the_new_password_logs_in(fleet: Provisioner, fleet_broker: FleetBroker) -> None:
    north = ("site-1", "gate.north")
    password_file = fleet.device_dir(*north) / layout.MQTT_PASSWORD
    old_password = password_file.read_text().strip()
    fleet.rotate(*north)
    fleet_broker.broker.reload()
    new_password = password_file.read_text().strip()
    deadline = time.monotonic() + 5
    while True:  # the broker applies the reload asynchronously
        old = Session(fleet_broker.plain_port, "n-old", "site-1/gate.north", old_password)
        old.close()
        if not old.accepted or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not old.accepted
    new = Session(fleet_broker.plain_port, "n-new", "site-1/gate.north", new_password)
    assert new.accepted
    assert not new.publish(device_topic(*north, "events"), b"after rotation").is_failure
    new.close()


@pytest.mark.broker
def test_after_rotation_the_old_certificate_is_refused_and_the_new_one_works(
    fleet: Provisioner, fleet_broker: FleetBroker, tmp_path: Path
) -> None:
    lot_dir = fleet.device_dir(*LOT)
    old_cert, old_key = tmp_path / "old.crt", tmp_path / "old.key"
    shutil.copy(lot_dir / layout.CLIENT_CERT, old_cert)
    shutil.copy(lot_dir / layout.CLIENT_KEY, old_key)

    def connect(cert: Path, key: Path) -> Session:
        ca_file = lot_dir / layout.BROKER_CA
        return Session(fleet_broker.cert_port, "lot", ca_file=ca_file, cert=(cert, key), connack_timeout=2)

    fleet.rotate(*LOT)
    fleet_broker.broker.restart()  # the listener loads its CRL at start
    with pytest.raises((OSError, TimeoutError)):
        connect(old_cert, old_key)
    lot = connect(lot_dir / layout.CLIENT_CERT, lot_dir / layout.CLIENT_KEY)
    assert lot.accepted
    assert not lot.publish(device_topic(*LOT, "events"), b"new certificate").is_failure
    lot.close()


def test_a_registry_from_before_rotation_existed_loads_and_rotates(tmp_path: Path) -> None:
    prov = Provisioner(tmp_path)
    bundle = prov.add_device("s1", "cam", client_cert=True, use_tool=False)
    registry = json.loads(prov.registry.path.read_text())
    for account in registry["accounts"]:  # the fields an older registry.json lacks
        del account["rotated_at"], account["revoked_serials"]
    prov.registry.path.write_text(json.dumps(registry))
    old = cert_serial(bundle.directory)
    Provisioner(tmp_path).rotate("s1", "cam", use_tool=False)
    assert crl_serials(Provisioner(tmp_path)) == {old}
