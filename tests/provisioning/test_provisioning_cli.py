"""`python -m provisioning`: what add-device, add-central, list and revoke leave on disk."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import load_edge_config
from common.crypto import read_key_file
from provisioning import layout
from provisioning.cli import main
from provisioning.passwords import (
    find_mosquitto_passwd,
    hash_password,
    pbkdf2_hash,
    read_password_file,
    verify_hash,
)
from provisioning.provisioner import Provisioner


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_add_device_writes_a_complete_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "prov"
    rc = main(
        [
            "add-device",
            "--site",
            "site-1",
            "--device",
            "gate.north",
            "--out",
            str(root),
            "--broker-host",
            "mqtt.example",
            "--tls",
            "--install-dir",
            "/etc/anpr",
        ]
    )
    assert rc == 0
    device = root / "devices" / "site-1" / "gate.north"
    secrets = device / "credentials"
    assert len(read_key_file(secrets / "store.key")) == 32  # the store accepts it as its key
    assert mode(secrets / "store.key") == mode(secrets / "mqtt.password") == 0o600
    assert mode(secrets) == 0o700  # copied to the box as it is: root-only there too
    assert mode(root / "broker" / "passwd") == 0o600
    config = load_edge_config(device / "edge.yaml")
    assert (config.site_id, config.device_id) == ("site-1", "gate.north")
    assert config.mqtt.model_dump(include={"enabled", "host", "port", "username", "tls"}) == {
        "enabled": True,
        "host": "mqtt.example",
        "port": 8883,
        "username": "site-1/gate.north",
        "tls": True,
    }
    # The bundle mirrors /etc/anpr on the box, where systemd/anpr-edge.service loads the credentials.
    assert config.mqtt.password_file == Path("/etc/anpr/credentials/mqtt.password")
    assert config.store.key_file == Path("/etc/anpr/credentials/store.key")
    assert config.mqtt.ca_file == Path("/etc/anpr/mqtt-ca.crt")
    assert (device / "mqtt-ca.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
    password = (secrets / "mqtt.password").read_text().strip()
    stored = read_password_file(root / "broker" / "passwd")["site-1/gate.north"]
    assert password not in (root / "broker" / "passwd").read_text()
    assert verify_hash(stored, password) and not verify_hash(stored, password + "x")
    acl = (root / "broker" / "acl").read_text()
    assert "user site-1/gate.north\ntopic write anpr/v1/site-1/gate.north/events" in acl
    assert "gate.north" in capsys.readouterr().out


def test_every_device_gets_its_own_secrets(tmp_path: Path) -> None:
    prov = Provisioner(tmp_path)
    a = prov.add_device("s", "a")
    b = prov.add_device("s", "b")
    for name in (layout.STORE_KEY, layout.MQTT_PASSWORD):
        assert (a.directory / name).read_bytes() != (b.directory / name).read_bytes()


def test_add_refuses_a_duplicate_and_bad_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["add-device", "--site", "site-1", "--device", "gate.north", "--out", str(tmp_path)]
    assert main(args) == 0
    assert main(args) == 1
    assert "already provisioned" in capsys.readouterr().err
    assert main(["add-device", "--site", "site 1", "--device", "d", "--out", str(tmp_path)]) == 1
    assert "site id 'site 1'" in capsys.readouterr().err


def test_list_and_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path)
    assert main(["add-device", "--site", "s1", "--device", "d1", "--out", root]) == 0
    assert main(["add-device", "--site", "s1", "--device", "d2", "--out", root, "--client-cert"]) == 0
    assert main(["add-central", "--out", root]) == 0
    assert main(["revoke", "--site", "s1", "--device", "d1", "--out", root]) == 0
    capsys.readouterr()
    assert main(["list", "--out", root]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["central", "central"],
        ["s1/d1", "device"],
        ["s1/d2", "device"],
    ]
    assert "revoked" in lines[1] and "active" in lines[2] and " cert " in lines[2]
    assert "s1/d1" not in read_password_file(tmp_path / "broker" / "passwd")
    assert "user s1/d1" not in (tmp_path / "broker" / "acl").read_text()
    assert main(["revoke", "--site", "s1", "--device", "d1", "--out", root]) == 1  # already revoked
    # A revoked device may be provisioned again, with fresh secrets.
    assert main(["add-device", "--site", "s1", "--device", "d1", "--out", root]) == 0


def test_revoking_a_certificate_device_lists_its_serial_in_the_crl(tmp_path: Path) -> None:
    from cryptography import x509

    prov = Provisioner(tmp_path)
    bundle = prov.add_device("s1", "cam", client_cert=True)
    cert = x509.load_pem_x509_certificate((bundle.directory / layout.CLIENT_CERT).read_bytes())
    assert cert.subject.rfc4514_string() == "CN=s1/cam"
    crl = x509.load_pem_x509_crl(prov.crl_file.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is None
    prov.revoke("s1/cam")
    crl = x509.load_pem_x509_crl(prov.crl_file.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    ca = x509.load_pem_x509_certificate(prov.clients_ca_file.read_bytes())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]


def test_python_hash_matches_the_mosquitto_format() -> None:
    fixed = pbkdf2_hash("secret", salt=bytes(range(12)))
    assert fixed.startswith("$7$101$AAECAwQFBgcICQoL$") and verify_hash(fixed, "secret")
    if find_mosquitto_passwd() is None:
        pytest.skip("mosquitto_passwd is not installed")
    tool_hash = hash_password("user", "secret")
    assert tool_hash.startswith("$7$101$") and verify_hash(tool_hash, "secret")
    assert len(tool_hash) == len(fixed)


def test_broker_config_points_at_this_directorys_files(tmp_path: Path) -> None:
    assert main(["add-central", "--out", str(tmp_path)]) == 0
    assert main(["broker-config", "--out", str(tmp_path), "--persistence-dir", "/var/lib/mosquitto"]) == 0
    conf = (tmp_path / "broker" / "mosquitto.conf").read_text()
    assert f"password_file {(tmp_path / 'broker' / 'passwd').resolve()}" in conf
    assert "per_listener_settings true" in conf and "allow_anonymous true" not in conf


def test_the_module_runs_as_a_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provisioning", "list", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    bad = subprocess.run(
        [sys.executable, "-m", "provisioning", "revoke", "--username", "nobody", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert bad.returncode == 1 and "no account 'nobody'" in bad.stderr
