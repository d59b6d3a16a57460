"""One definition of the broker's ports and of where an edge box keeps its files.

The broker config (provisioning.broker_config, deploy/mosquitto/anpr.conf), the edge.yaml snippets
`add-device` writes, the systemd units (systemd/) and the Ansible roles (ansible/) all follow these;
tests/deploy and tests/provisioning check that the non-Python copies agree.

A device bundle (`devices/<site>/<device>/` under the provisioning root) mirrors the box's config
directory, so copying the bundle into /etc/anpr puts every file where edge.yaml and the unit expect it.
"""

from __future__ import annotations

from pathlib import Path

from common import credentials

# Broker listeners (Mosquitto).
PLAIN_PORT = 1883  # 127.0.0.1 only: password logins on the broker's own host
TLS_PORT = 8883  # TLS with username and password
CLIENT_CERT_PORT = 8884  # TLS with a client certificate whose CN is the username


def device_port(*, tls: bool, client_cert: bool) -> int:
    """The listener a device connects to for its kind of login."""
    if client_cert:
        return CLIENT_CERT_PORT
    return TLS_PORT if tls else PLAIN_PORT


# The edge box's config directory (ConfigurationDirectory=anpr in systemd/anpr-edge.service).
CONFIG_DIR = Path("/etc/anpr")
# Relative to CONFIG_DIR on the box, and to the device bundle on the operator's machine.
EDGE_CONFIG = Path("edge.yaml")
BROKER_CA = Path("mqtt-ca.crt")
CLIENT_CERT = Path("mqtt-client.crt")
CREDENTIALS_DIR = Path("credentials")  # root only, 0700; the unit hands each file over as a credential
STORE_KEY = CREDENTIALS_DIR / "store.key"
MQTT_PASSWORD = CREDENTIALS_DIR / "mqtt.password"
CLIENT_KEY = CREDENTIALS_DIR / "client.key"

# Each secret file and the systemd credential name the agent reads it under (common/credentials.py).
CREDENTIAL_NAMES: dict[Path, str] = {
    STORE_KEY: credentials.STORE_KEY,
    MQTT_PASSWORD: credentials.MQTT_PASSWORD,
    CLIENT_KEY: credentials.MQTT_CLIENT_KEY,
}
