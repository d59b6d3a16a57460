"""Login throttling: a guesser is slowed per user and address, the real user is not locked out;
forwarded addresses are believed from configured proxies only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from central_app import PASSWORD, ROLE_USERS, login
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.app import create_app
from central.auth.ratelimit import LoginThrottle, ThrottleSettings
from central.config import CentralConfig, CentralConfigError, HttpSettings, MqttSettings, load_central_config
from central.db.models import User


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttle(**settings: float) -> tuple[LoginThrottle, FakeClock]:
    clock = FakeClock()
    return LoginThrottle(ThrottleSettings(**settings), clock), clock  # type: ignore[arg-type]


def test_a_guesser_waits_twice_as_long_after_each_failure_up_to_the_cap() -> None:
    throttle, clock = _throttle(free_failures=3, backoff_base_s=1.0, backoff_max_s=10.0, window_s=3600)
    waits = []
    for _ in range(8):
        assert throttle.retry_after("oscar", "10.0.0.66") is None
        throttle.record_failure("oscar", "10.0.0.66")
        waits.append(throttle.retry_after("oscar", "10.0.0.66") or 0.0)
        clock.now += waits[-1]
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_the_real_user_at_another_address_is_not_slowed_by_a_guesser() -> None:
    throttle, _clock = _throttle()
    for _ in range(50):
        throttle.record_failure("oscar", "203.0.113.9")
    assert throttle.retry_after("oscar", "203.0.113.9") is not None
    assert throttle.retry_after("oscar", "192.0.2.10") is None
    assert throttle.retry_after("OSCAR", "203.0.113.9") is not None  # user names are case-blind


def test_one_address_spraying_many_user_names_is_slowed() -> None:
    throttle, _clock = _throttle(address_free_failures=20)
    for index in range(20):
        throttle.record_failure(f"user{index}", "198.51.100.7")
    assert throttle.retry_after("someone-new", "198.51.100.7") is not None
    assert throttle.retry_after("someone-new", "198.51.100.8") is None


def test_under_a_distributed_attack_failed_addresses_lose_their_free_tries_clean_ones_do_not() -> None:
    throttle, _clock = _throttle(free_failures=3, global_max_failures=100)
    throttle.record_failure("oscar", "192.0.2.10")  # the real user mistyped once
    assert throttle.retry_after("oscar", "192.0.2.10") is None
    for index in range(100):
        throttle.record_failure("oscar", f"10.1.{index // 250}.{index % 250}")
    assert throttle.retry_after("oscar", "10.1.0.1") is not None
    assert throttle.retry_after("oscar", "192.0.2.10") is not None  # a wait of seconds, not a lock
    assert throttle.retry_after("oscar", "192.0.2.99") is None  # a clean address may try


def test_a_success_forgives_the_pair_and_old_failures_are_forgotten() -> None:
    throttle, clock = _throttle(free_failures=1, address_free_failures=5, window_s=60)
    for _ in range(3):
        throttle.record_failure("oscar", "192.0.2.10")
    throttle.record_success("oscar", "192.0.2.10")
    assert throttle.retry_after("oscar", "192.0.2.10") is None
    for _ in range(6):
        throttle.record_failure("victor", "192.0.2.10")
    clock.now += 61
    assert throttle.retry_after("victor", "192.0.2.10") is None


def test_junk_user_names_cannot_grow_the_state_without_bound() -> None:
    throttle, _clock = _throttle(max_tracked=1000)
    for index in range(5000):
        throttle.record_failure(f"junk-{index}", f"10.2.{index // 250}.{index % 250}")
    assert throttle.tracked() == 1000


def _app(engine: Engine, data_dir: Path, password_hash: str, trusted: list[str]) -> object:
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
    return app


def _login_from(client: TestClient, forwarded_for: str, password: str) -> int:
    return client.post(
        "/api/v1/auth/token",
        data={"username": "oscar", "password": password},
        headers={"X-Forwarded-For": forwarded_for},
    ).status_code


def _audit_clients(client: TestClient) -> list[tuple[str, str | None]]:
    entries = client.get("/api/v1/audit", params={"username": "oscar"}, headers=login(client, "admin")).json()
    return [(e["action"], e["client"]) for e in reversed(entries)]


def test_a_trusted_proxy_names_the_client(sqlite_engine: Engine, tmp_path: Path, password_hash: str) -> None:
    app = _app(sqlite_engine, tmp_path / "data", password_hash, ["127.0.0.1"])
    with TestClient(app, client=("127.0.0.1", 40000)) as client:  # type: ignore[arg-type]
        for _ in range(5):
            _login_from(client, "203.0.113.9", "wrong-password")
        assert _login_from(client, "203.0.113.9", PASSWORD) == 429  # the guesser's address waits
        assert _login_from(client, "192.0.2.10, 127.0.0.1", PASSWORD) == 200  # the real user does not
        assert _audit_clients(client)[-1] == ("login", "192.0.2.10")
        assert ("login_failed", "203.0.113.9") in _audit_clients(client)


def test_forwarded_for_from_anyone_else_is_ignored(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    app = _app(sqlite_engine, tmp_path / "data", password_hash, [])
    with TestClient(app, client=("127.0.0.1", 40000)) as client:  # type: ignore[arg-type]
        assert _login_from(client, "203.0.113.9", "wrong-password") == 401
        assert _login_from(client, "198.51.100.1", PASSWORD) == 200
        assert _audit_clients(client) == [("login_failed", "127.0.0.1"), ("login", "127.0.0.1")]


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert load_central_config(env={"ANPR_CENTRAL_HTTP__TRUSTED_PROXIES": '[10.0.0.0/8, "::1"]'})
    for bad in ("['*']", "[proxy.lan]", "[10.0.0.300]"):
        with pytest.raises(CentralConfigError, match="not an IP address or network"):
            load_central_config(env={"ANPR_CENTRAL_HTTP__TRUSTED_PROXIES": bad})
