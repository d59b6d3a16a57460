"""`anpr-central` commands and central's typed config (YAML file + environment overrides)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from central.cli import main
from central.config import CentralConfigError, load_central_config


def _env(tmp_path: Path) -> dict[str, str]:
    return {"ANPR_CENTRAL_DATA_DIR": str(tmp_path / "data")}


def test_config_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "central.yaml"
    path.write_text("http:\n  port: 9000\nmqtt:\n  host: broker.lan\nauth:\n  token_lifetime_min: 15\n")
    config = load_central_config(
        path, env={"ANPR_CENTRAL_HTTP__PORT": "9100", "ANPR_CENTRAL_MQTT__ENABLED": "false"}
    )
    assert config.http.port == 9100 and config.mqtt.host == "broker.lan" and config.mqtt.enabled is False
    assert config.auth.token_lifetime_min == 15
    assert config.database_url == f"sqlite:///{Path('var/central') / 'central.db'}"


def test_jwt_secret_from_the_environment(tmp_path: Path) -> None:
    from central.app import build_context

    secret = "s" * 40
    env = {"ANPR_CENTRAL_DATA_DIR": str(tmp_path), "ANPR_CENTRAL_AUTH__JWT_SECRET": secret}
    config = load_central_config(None, env=env)
    assert secret not in repr(config)  # a SecretStr does not leak into logs
    ctx = build_context(config)
    token, _ = ctx.tokens.issue("alice", "admin")
    assert ctx.tokens.verify(token).username == "alice"
    assert not (tmp_path / "jwt.secret").exists()  # no file generated when the secret is given
    with pytest.raises(CentralConfigError, match="jwt_secret"):
        load_central_config(None, env={"ANPR_CENTRAL_AUTH__JWT_SECRET": "short"})


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "central.yaml"
    path.write_text("http:\n  port: seventy\n")
    with pytest.raises(CentralConfigError, match=r"http\.port"):
        load_central_config(path, env={})
    with pytest.raises(CentralConfigError, match="databse"):
        load_central_config(None, env={"ANPR_CENTRAL_DATABSE__URL": "sqlite://"})
    with pytest.raises(CentralConfigError, match="cannot read"):
        load_central_config(tmp_path / "missing.yaml", env={})


def test_db_upgrade_and_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    assert main(["users", "list"]) == 2
    assert "db upgrade" in capsys.readouterr().err

    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "data" / "central.db").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "add", "alice", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "bob", "--password-stdin"]) == 2
    assert "at least" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["users", "passwd", "alice", "--password-stdin"]) == 0
    assert main(["users", "role", "alice", "operator"]) == 0
    assert main(["users", "disable", "alice"]) == 0
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    assert capsys.readouterr().out.strip() == "alice\toperator (disabled)"
    assert main(["users", "enable", "alice"]) == 0
    assert main(["users", "disable", "nobody"]) == 2
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    assert capsys.readouterr().out.strip() == "alice\toperator"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "add", "alice", "--password-stdin"]) == 2
    assert "already exists" in capsys.readouterr().err
