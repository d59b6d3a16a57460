"""The central app as tests run it: one user per role, logins through the real endpoint.

A module of its own (not conftest), so test modules import it by a name no other test folder uses.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.app import create_app
from central.config import AuthSettings, CentralConfig, MqttSettings, RetentionSettings
from central.db.models import User

PASSWORD = "correct horse battery staple"
ROLE_USERS = {"admin": "alice", "operator": "oscar", "viewer": "victor"}


def make_central_app(engine: Engine, data_dir: Path, password_hash: str, **auth: Any) -> FastAPI:
    config = CentralConfig(
        data_dir=data_dir,
        mqtt=MqttSettings(enabled=False),
        auth=AuthSettings(**auth),
        retention=RetentionSettings(enabled=False),  # tests keep their old events; retention has its own
    )
    app = create_app(config, engine=engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for role, name in ROLE_USERS.items():
            session.add(
                User(
                    username=name,
                    password_hash=password_hash,
                    role=role,
                    disabled=False,
                    created_at=now,
                    tokens_valid_after=now - timedelta(minutes=1),
                )
            )
    return app


def login(client: TestClient, role: str) -> dict[str, str]:
    """Authorization header of the test user with `role`, through the real login endpoint."""
    response = client.post("/api/v1/auth/token", data={"username": ROLE_USERS[role], "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


BROKER = ("127.0.0.1", 1883)


def require_broker() -> None:
    """Skip the calling test, saying why, when no MQTT broker listens at BROKER."""
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError as exc:
        pytest.skip(f"no MQTT broker at {BROKER[0]}:{BROKER[1]}: {exc}")
