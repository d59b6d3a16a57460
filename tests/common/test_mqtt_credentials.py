"""The MQTT password and client key: systemd credentials first, else the files edge.yaml names."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from common.config import MqttConfig
from common.credentials import MQTT_CLIENT_KEY, MQTT_PASSWORD
from common.mqtt import CredentialError, build_client
from provisioning.certs import issue_certificate, load_or_create_ca


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


@pytest.fixture
def credentials_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "run-credentials"
    directory.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory


def test_the_password_file_is_read_without_a_credential(tmp_path: Path, no_credentials: None) -> None:
    (tmp_path / "mqtt.password").write_text("from-the-file\n")
    config = MqttConfig(username="s/d", password_file=tmp_path / "mqtt.password")
    client = build_client(config, "c")
    assert (client.username, client.password) == ("s/d", "from-the-file")


def test_the_password_credential_wins_over_the_configured_file(tmp_path: Path, credentials_dir: Path) -> None:
    (credentials_dir / MQTT_PASSWORD).write_text("from-systemd\n")
    # Under systemd the configured root-only file is unreadable for the agent: it is never opened.
    config = MqttConfig(username="s/d", password_file=tmp_path / "root-only" / "mqtt.password")
    assert build_client(config, "c").password == "from-systemd"
    # edge.yaml may leave the file out altogether.
    assert build_client(MqttConfig(username="s/d"), "c").password == "from-systemd"


def test_a_missing_password_names_the_file(tmp_path: Path, credentials_dir: Path) -> None:
    # A credentials directory without this credential: the configured file is the one looked for.
    config = MqttConfig(username="s/d", password_file=tmp_path / "missing.password")
    with pytest.raises(CredentialError, match=r"missing\.password: cannot read the MQTT password"):
        build_client(config, "c")


@pytest.fixture
def client_cert(tmp_path: Path) -> tuple[Path, bytes]:
    """A real client certificate (PEM file) and its private key (PEM bytes)."""
    ca = load_or_create_ca(tmp_path / "ca", "test CA")
    cert_pem, key_pem, _ = issue_certificate(ca, "s/d")
    (tmp_path / "client.crt").write_bytes(cert_pem)
    return tmp_path / "client.crt", key_pem


def test_the_client_key_credential_replaces_the_configured_key_file(
    tmp_path: Path, credentials_dir: Path, client_cert: tuple[Path, bytes]
) -> None:
    cert, key_pem = client_cert
    config = MqttConfig(tls=True, cert_file=cert, key_file=tmp_path / "root-only" / "client.key")
    with pytest.raises(CredentialError, match=r"mqtt.key_file: .*root-only/client.key does not exist"):
        build_client(config, "c")
    (credentials_dir / MQTT_CLIENT_KEY).write_bytes(key_pem)
    client = build_client(config, "c")  # loads the certificate with the credential's key
    assert (client.username, client.password) == (None, None)  # the broker takes the certificate's CN


def test_the_client_key_credential_is_really_the_key_loaded(
    tmp_path: Path, credentials_dir: Path, client_cert: tuple[Path, bytes]
) -> None:
    cert, key_pem = client_cert
    (tmp_path / "client.key").write_bytes(key_pem)  # the right key in the configured file...
    other = load_or_create_ca(tmp_path / "other", "other CA")
    (credentials_dir / MQTT_CLIENT_KEY).write_bytes(issue_certificate(other, "x")[1])  # ...a wrong one here
    config = MqttConfig(tls=True, cert_file=cert, key_file=tmp_path / "client.key")
    with pytest.raises(ssl.SSLError):
        build_client(config, "c")
