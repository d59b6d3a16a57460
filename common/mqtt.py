"""A paho client for the broker, built the same way by the edge agent and by central.

MQTT v5 with paho's callback API v2; the password and the client key come from the systemd
credentials anpr-mqtt-password and anpr-mqtt-client-key when the service has them, else from
the files the config names.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import paho.mqtt.client as mqtt

from common import credentials
from common.config import MqttConnection


class CredentialError(ValueError):
    """The MQTT password or TLS files (from systemd credentials or the config) cannot be used."""


def read_password(path: Path) -> str:
    try:
        password = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CredentialError(f"{path}: cannot read the MQTT password: {exc.strerror or exc}") from exc
    if not password:
        raise CredentialError(f"{path}: the MQTT password file is empty")
    return password


def build_client(connection: MqttConnection, client_id: str, manual_ack: bool = False) -> mqtt.Client:
    """A paho client with identity, credentials and TLS as `connection` says; not yet connected."""
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    if connection.username is not None:
        password_path = credentials.credential_or_file(credentials.MQTT_PASSWORD, connection.password_file)
        password = read_password(password_path) if password_path else None
        client.username_pw_set(connection.username, password)
    if connection.tls:
        # A key without its certificate is useless, so the key credential counts only beside cert_file.
        key_file = (
            credentials.credential_or_file(credentials.MQTT_CLIENT_KEY, connection.key_file)
            if connection.cert_file
            else connection.key_file
        )
        files = {"ca_file": connection.ca_file, "cert_file": connection.cert_file, "key_file": key_file}
        for name, path in files.items():
            if path is not None and not Path(path).is_file():
                raise CredentialError(f"mqtt.{name}: {path} does not exist")
        client.tls_set(
            ca_certs=str(connection.ca_file) if connection.ca_file else None,
            certfile=str(connection.cert_file) if connection.cert_file else None,
            keyfile=str(key_file) if key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    client.connect_timeout = 5.0
    return client
