"""Authentication and authorization: tokens, roles, rate limit, security headers, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from central_app import PASSWORD, ROLE_USERS, login, make_central_app
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.auth.tokens import ALGORITHM, AUDIENCE, ISSUER, TokenService, load_or_create_secret
from central.auth.users import set_password


def test_login_gives_a_token_that_opens_the_api(sqlite_api: TestClient) -> None:
    headers = login(sqlite_api, "viewer")
    me = sqlite_api.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200 and me.json() == {"username": "victor", "role": "viewer"}


def test_no_token_wrong_password_are_refused(sqlite_api: TestClient) -> None:
    assert sqlite_api.get("/api/v1/events").status_code == 401
    bad = sqlite_api.post("/api/v1/auth/token", data={"username": "victor", "password": "nope-nope-nope"})
    assert bad.status_code == 401
    unknown = sqlite_api.post("/api/v1/auth/token", data={"username": "mallory", "password": PASSWORD})
    assert unknown.status_code == 401


def _secret(client: TestClient) -> bytes:
    return load_or_create_secret(client.app.state.ctx.config.jwt_secret_path)  # type: ignore[attr-defined]


def test_expired_token_is_refused(sqlite_api: TestClient) -> None:
    service = TokenService(_secret(sqlite_api), timedelta(minutes=5))
    token, _ = service.issue("alice", "admin", now=datetime.now(UTC) - timedelta(minutes=10))
    response = sqlite_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_forged_tokens_are_refused(sqlite_api: TestClient) -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": "victor",
        "role": "admin",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    forged = [
        jwt.encode(claims, b"x" * 48, algorithm=ALGORITHM),  # wrong key
        jwt.encode(claims, None, algorithm="none"),  # unsigned
        jwt.encode({**claims, "aud": "someone-else"}, _secret(sqlite_api), algorithm=ALGORITHM),
        "not.a.jwt",
    ]
    for token in forged:
        response = sqlite_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


def test_role_comes_from_the_database_not_the_token(sqlite_api: TestClient) -> None:
    # A correctly signed token claiming admin for a viewer still only gets viewer rights.
    service = TokenService(_secret(sqlite_api), timedelta(minutes=5))
    token, _ = service.issue("victor", "admin")
    response = sqlite_api.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_password_change_revokes_older_tokens(sqlite_api: TestClient, sqlite_engine: Engine) -> None:
    service = TokenService(_secret(sqlite_api), timedelta(minutes=5))
    old, _ = service.issue("victor", "viewer")
    assert sqlite_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    with Session(sqlite_engine) as session, session.begin():
        set_password(session, "victor", "a brand new password")
    assert sqlite_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_viewer_cannot_push_config_or_read_audit(sqlite_api: TestClient) -> None:
    headers = login(sqlite_api, "viewer")
    assert sqlite_api.patch("/api/v1/devices/edge1/config", json={}, headers=headers).status_code == 403
    assert sqlite_api.get("/api/v1/audit", headers=headers).status_code == 403
    assert sqlite_api.get("/api/v1/dead-letters", headers=headers).status_code == 403


def test_failed_logins_slow_the_guesser_not_the_other_users(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    app = make_central_app(sqlite_engine, tmp_path / "data", password_hash, login_free_failures=3)
    with TestClient(app) as client:
        for _ in range(3):
            response = client.post(
                "/api/v1/auth/token", data={"username": "oscar", "password": "wrong-password"}
            )
            assert response.status_code == 401
        blocked = client.post("/api/v1/auth/token", data={"username": "oscar", "password": PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        # Oscar's failures from this address do not touch another user at the same address.
        other = client.post(
            "/api/v1/auth/token", data={"username": ROLE_USERS["admin"], "password": PASSWORD}
        )
        assert other.status_code == 200


def test_security_headers(sqlite_api: TestClient) -> None:
    for path in ("/", "/api/health"):
        response = sqlite_api.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in response.headers["content-security-policy"]
    assert sqlite_api.get("/api/health").headers["cache-control"] == "no-store"


def test_searches_are_audited(sqlite_api: TestClient) -> None:
    viewer = login(sqlite_api, "viewer")
    assert sqlite_api.get("/api/v1/events", params={"plate": "А123ВС77"}, headers=viewer).status_code == 200
    entries = sqlite_api.get(
        "/api/v1/audit", params={"username": "victor"}, headers=login(sqlite_api, "admin")
    ).json()
    searches = [e for e in entries if e["action"] == "search"]
    assert searches and searches[0]["detail"]["plate"] == "А123ВС77"
    assert {e["action"] for e in entries} >= {"login", "search"}


def test_jwt_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jwt.secret"
    first = load_or_create_secret(path)
    assert load_or_create_secret(path) == first and len(first) >= 32
    assert path.stat().st_mode & 0o077 == 0
