"""The server as `anpr-central serve` runs it (real uvicorn on 127.0.0.1): X-Forwarded-For from
localhost is not believed unless configured, and the access log holds no plate and no token."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from central_app import PASSWORD, ROLE_USERS
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.app import create_app
from central.cli import server_config
from central.config import CentralConfig, HttpSettings, MqttSettings
from central.db.models import User
from central.logs import install_central_log_masking, mask_request_target
from common.logmask import PlateMasker


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """uvicorn and the masking change process-wide loggers; put them back for the other tests."""
    names = ["", "uvicorn", "uvicorn.access", "uvicorn.error"]
    saved = {
        name: (list(logging.getLogger(name).handlers), list(logging.getLogger(name).filters),
               logging.getLogger(name).level, logging.getLogger(name).propagate)
        for name in names
    }
    handler_filters = {id(h): list(h.filters) for name in names for h in logging.getLogger(name).handlers}
    yield
    for name, (handlers, filters, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.filters[:] = filters
        logger.setLevel(level)
        logger.propagate = propagate
        for handler in handlers:
            handler.filters[:] = handler_filters.get(id(handler), [])


def _serve(engine: Engine, data_dir: Path, password_hash: str, trusted: list[str]) -> Iterator[str]:
    config = CentralConfig(
        data_dir=data_dir, mqtt=MqttSettings(enabled=False), http=HttpSettings(trusted_proxies=trusted)
    )
    app = create_app(config, engine=engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for role, name in ROLE_USERS.items():
            session.add(
                User(username=name, password_hash=password_hash, role=role, disabled=False,
                     created_at=now, tokens_valid_after=now - timedelta(minutes=1))
            )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # bound and listening before the thread starts: requests queue, no polling
    server_settings = server_config(app, config, "INFO")
    import uvicorn

    server = uvicorn.Server(server_settings)
    install_central_log_masking()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def _token(base: str, forwarded_for: str | None = None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "alice", "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _clients_in_audit(base: str, token: str) -> list[str | None]:
    entries = httpx.get(
        f"{base}/api/v1/audit", params={"username": "alice"}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    return [e["client"] for e in entries]


@pytest.mark.usefixtures("restore_logging")
def test_localhost_is_not_a_proxy_unless_configured_and_the_access_log_masks_plates(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    lines = _Lines()
    for base in _serve(sqlite_engine, tmp_path / "data", password_hash, []):
        logging.getLogger("uvicorn.access").addHandler(lines)
        token = _token(base, forwarded_for="203.0.113.9")
        headers = {"Authorization": f"Bearer {token}"}
        for plate in ("А123ВС77", "A123BC77", "A12"):
            search = httpx.get(f"{base}/api/v1/events", params={"plate": plate}, headers=headers)
            assert search.status_code == 200
        assert set(_clients_in_audit(base, token)) == {"127.0.0.1"}
    searches = [line for line in lines.lines if "/api/v1/events" in line]
    assert len(searches) == 3, lines.lines
    for line in searches:
        assert "123" not in line and "%D0%90123" not in line and "A12" not in line, line
    assert "plate=A%2A%2A%2ABC%2A%2A" in searches[1] or "plate=A***BC**" in searches[1], searches[1]


@pytest.mark.usefixtures("restore_logging")
def test_a_configured_proxy_names_the_client_in_the_audit_and_access_logs(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    lines = _Lines()
    for base in _serve(sqlite_engine, tmp_path / "data", password_hash, ["127.0.0.1"]):
        logging.getLogger("uvicorn.access").addHandler(lines)
        token = _token(base, forwarded_for="203.0.113.9")
        assert _clients_in_audit(base, token) == ["203.0.113.9"]
    assert any(line.startswith("203.0.113.9:") for line in lines.lines), lines.lines


def test_request_targets_lose_plates_and_tokens() -> None:
    masker = PlateMasker()
    masked = mask_request_target("/ws/events?token=eyJ.abc.def&plate=%D0%90123%D0%92%D0%A177&site=s1", masker)
    assert "eyJ" not in masked and "123" not in masked and "site=s1" in masked
    assert mask_request_target("/api/v1/events/0193a5c8-7d2e-7000-8000-000000000001", masker) == (
        "/api/v1/events/0193a5c8-7d2e-7000-8000-000000000001"
    )
