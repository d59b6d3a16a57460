"""Secrets handed over by systemd: a credential in `$CREDENTIALS_DIRECTORY` wins over the file the
configuration names.

Under systemd the units load root-only files with `LoadCredential=NAME:/etc/anpr/credentials/...`
and the service reads its private copy as `$CREDENTIALS_DIRECTORY/NAME`; run by hand (tests, a
developer's laptop) there is no such directory and the configured file is used. Configuration
files therefore name the on-disk files only and never a `/run/credentials/...` path.
"""

from __future__ import annotations

import os
from pathlib import Path

CREDENTIALS_DIRECTORY_ENV = "CREDENTIALS_DIRECTORY"

# Credential names shared by the code and the units (systemd/*.service, ansible/roles/edge).
STORE_KEY = "anpr-store-key"
MQTT_PASSWORD = "anpr-mqtt-password"
MQTT_CLIENT_KEY = "anpr-mqtt-client-key"


def credential_path(name: str) -> Path | None:
    """Path of this service's systemd credential `name`, or None when it has none by that name."""
    directory = os.environ.get(CREDENTIALS_DIRECTORY_ENV)
    if not directory:
        return None
    path = Path(directory) / name
    return path if path.exists() else None


def credential_or_file(name: str, configured: Path | None) -> Path | None:
    """Where to read a secret from: the credential `name` when the service has it, else `configured`."""
    return credential_path(name) or configured
