"""Building the device's paho client: identity, credentials, TLS, Last Will, persistent session."""

from __future__ import annotations

import random
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from common import credentials
from common.config import MqttConfig

# The broker keeps the session (subscriptions, queued config pushes) this long after a disconnect.
SESSION_EXPIRY_S = 7 * 24 * 3600


class CredentialError(ValueError):
    """The MQTT password or TLS files (from systemd credentials or the config) cannot be used."""


def client_id_for(site_id: str, device_id: str) -> str:
    # Stable across restarts, so the broker finds the persistent session again.
    return f"anpr-{site_id}-{device_id}"


def read_password(path: Path) -> str:
    try:
        password = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CredentialError(f"{path}: cannot read the MQTT password: {exc.strerror or exc}") from exc
    if not password:
        raise CredentialError(f"{path}: the MQTT password file is empty")
    return password


def build_client(mqtt_config: MqttConfig, client_id: str) -> mqtt.Client:
    """A paho client (MQTT v5, callback API v2) with credentials and TLS as the config says.

    The password and the client key come from the systemd credentials anpr-mqtt-password and
    anpr-mqtt-client-key when the service has them, else from mqtt.password_file and mqtt.key_file.
    """
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    if mqtt_config.username is not None:
        password_path = credentials.credential_or_file(credentials.MQTT_PASSWORD, mqtt_config.password_file)
        password = read_password(password_path) if password_path else None
        client.username_pw_set(mqtt_config.username, password)
    if mqtt_config.tls:
        # A key without its certificate is useless, so the key credential counts only beside cert_file.
        key_file = (
            credentials.credential_or_file(credentials.MQTT_CLIENT_KEY, mqtt_config.key_file)
            if mqtt_config.cert_file
            else mqtt_config.key_file
        )
        files = {"ca_file": mqtt_config.ca_file, "cert_file": mqtt_config.cert_file, "key_file": key_file}
        for name, path in files.items():
            if path is not None and not Path(path).is_file():
                raise CredentialError(f"mqtt.{name}: {path} does not exist")
        client.tls_set(
            ca_certs=str(mqtt_config.ca_file) if mqtt_config.ca_file else None,
            certfile=str(mqtt_config.cert_file) if mqtt_config.cert_file else None,
            keyfile=str(key_file) if key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    client.connect_timeout = 5.0
    return client


def connect_properties() -> Properties:
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    return properties


@dataclass
class Backoff:
    """Exponential reconnect delay with jitter, so a fleet does not reconnect in lockstep."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5  # the delay is drawn from [(1 - jitter) * d, d]
    _attempt: int = field(default=0, init=False)
    _random: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError("backoff needs 0 < initial_s <= max_s")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff needs factor >= 1 and 0 <= jitter < 1")

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.initial_s * self.factor ** min(self._attempt, 64))
        self._attempt += 1
        return ceiling * (1 - self.jitter * self._random.random())

    def reset(self) -> None:
        self._attempt = 0
