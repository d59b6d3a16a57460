"""Secrets from systemd credentials, else from the configured file."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.credentials import credential_or_file, credential_path


def test_without_a_credentials_directory_the_configured_file_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert credential_path("anpr-mqtt-password") is None
    assert credential_or_file("anpr-mqtt-password", tmp_path / "mqtt.password") == tmp_path / "mqtt.password"
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "")  # set but empty: the same
    assert credential_or_file("anpr-mqtt-password", None) is None


def test_a_credential_wins_and_only_by_its_own_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "anpr-mqtt-password").write_text("secret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    configured = Path("/etc/anpr/credentials/mqtt.password")
    assert credential_or_file("anpr-mqtt-password", configured) == tmp_path / "anpr-mqtt-password"
    assert credential_or_file("anpr-mqtt-client-key", configured) == configured
