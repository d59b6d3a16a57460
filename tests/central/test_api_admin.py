"""Sessions (refresh, logout, maximum age, language) and administration (users, audit, dead letters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from central_app import PASSWORD, login, make_central_app
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.auth.tokens import TokenService
from central.db.models import AuditEntry, DeadLetter, RevokedToken


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_logout_revokes_only_that_token(sqlite_api: TestClient, sqlite_engine: Engine) -> None:
    first, second = login(sqlite_api, "viewer"), login(sqlite_api, "viewer")
    assert sqlite_api.post("/api/v1/auth/logout", headers=first).status_code == 204
    refused = sqlite_api.get("/api/v1/auth/me", headers=first)
    assert refused.status_code == 401 and "signed out" in refused.json()["detail"]
    assert sqlite_api.get("/api/v1/auth/me", headers=second).status_code == 200  # another browser stays in
    with Session(sqlite_engine) as session:
        assert session.scalars(select(RevokedToken.username)).all() == ["victor"]
        assert "logout" in session.scalars(select(AuditEntry.action)).all()


def test_refresh_slides_the_session_and_retires_the_old_token(sqlite_api: TestClient) -> None:
    old = login(sqlite_api, "operator")
    fresh = sqlite_api.post("/api/v1/auth/refresh", headers=old)
    assert fresh.status_code == 200, fresh.text
    body = fresh.json()
    assert body["role"] == "operator" and 0 < body["expires_in"] <= 3600
    assert sqlite_api.get("/api/v1/auth/me", headers=_bearer(body["access_token"])).status_code == 200
    assert sqlite_api.get("/api/v1/auth/me", headers=old).status_code == 401


def test_refresh_stops_at_the_sessions_maximum_age(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    app = make_central_app(sqlite_engine, tmp_path / "data", password_hash, session_max_hours=1)
    with TestClient(app) as client:
        tokens: TokenService = app.state.ctx.tokens
        now = datetime.now(UTC)
        # Signed in 59 minutes ago: a refresh works but the new token ends with the session.
        token, _ = tokens.issue("victor", "viewer", session_started=now - timedelta(minutes=59))
        answer = client.post("/api/v1/auth/refresh", headers=_bearer(token))
        assert answer.status_code == 200 and answer.json()["expires_in"] <= 60
        # Signed in 61 minutes ago (token still live): no more refreshes.
        token, _ = tokens.issue("victor", "viewer", session_started=now - timedelta(minutes=61))
        refused = client.post("/api/v1/auth/refresh", headers=_bearer(token))
        assert refused.status_code == 401 and "maximum age" in refused.json()["detail"]


def test_language_is_kept_per_user(sqlite_api: TestClient) -> None:
    viewer, operator = login(sqlite_api, "viewer"), login(sqlite_api, "operator")
    changed = sqlite_api.patch("/api/v1/auth/me", json={"language": "ru"}, headers=viewer)
    assert changed.status_code == 200 and changed.json()["language"] == "ru"
    assert sqlite_api.get("/api/v1/auth/me", headers=viewer).json()["language"] == "ru"
    assert sqlite_api.get("/api/v1/auth/me", headers=operator).json()["language"] is None
    assert sqlite_api.patch("/api/v1/auth/me", json={"language": "xx"}, headers=viewer).status_code == 422


def test_admin_manages_users_with_one_time_passwords(sqlite_api: TestClient, sqlite_engine: Engine) -> None:
    admin = login(sqlite_api, "admin")
    created = sqlite_api.post("/api/v1/users", json={"username": "nina", "role": "operator"}, headers=admin)
    assert created.status_code == 201, created.text
    first_password = created.json()["one_time_password"]
    assert len(first_password) >= 16
    signed_in = sqlite_api.post("/api/v1/auth/token", data={"username": "nina", "password": first_password})
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "operator"
    nina = _bearer(signed_in.json()["access_token"])
    assert sqlite_api.post("/api/v1/users", json={"username": "nina"}, headers=admin).status_code == 422

    # Demote: her open session carries on with the lower role at once.
    assert (
        sqlite_api.patch("/api/v1/users/nina", json={"role": "viewer"}, headers=admin).json()["role"]
        == "viewer"
    )
    # Reset: the old password and sessions stop working, the new one works.
    reset = sqlite_api.post("/api/v1/users/nina/password-reset", headers=admin).json()
    assert sqlite_api.get("/api/v1/auth/me", headers=nina).status_code == 401
    old = sqlite_api.post("/api/v1/auth/token", data={"username": "nina", "password": first_password})
    assert old.status_code == 401
    new = sqlite_api.post(
        "/api/v1/auth/token", data={"username": "nina", "password": reset["one_time_password"]}
    )
    assert new.status_code == 200
    # Disable: no more sign-ins.
    assert (
        sqlite_api.patch("/api/v1/users/nina", json={"disabled": True}, headers=admin).json()["disabled"]
        is True
    )
    again = sqlite_api.post(
        "/api/v1/auth/token", data={"username": "nina", "password": reset["one_time_password"]}
    )
    assert again.status_code == 401

    listed = {u["username"]: u for u in sqlite_api.get("/api/v1/users", headers=admin).json()}
    assert listed["nina"]["disabled"] is True and listed["alice"]["role"] == "admin"
    assert sqlite_api.patch("/api/v1/users/ghost", json={"role": "viewer"}, headers=admin).status_code == 404
    assert sqlite_api.patch("/api/v1/users/nina", json={}, headers=admin).status_code == 422
    with Session(sqlite_engine) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.username == "alice")).all()
    assert {"user_create", "user_change", "password_reset"} <= set(actions)


def test_the_last_admin_cannot_lock_everyone_out(sqlite_api: TestClient) -> None:
    admin = login(sqlite_api, "admin")
    demote = sqlite_api.patch("/api/v1/users/alice", json={"role": "viewer"}, headers=admin)
    assert demote.status_code == 422 and "last enabled admin" in demote.json()["detail"][0]["msg"]
    disable = sqlite_api.patch("/api/v1/users/alice", json={"disabled": True}, headers=admin)
    assert disable.status_code == 422


def test_user_administration_is_for_admins_only(sqlite_api: TestClient) -> None:
    operator = login(sqlite_api, "operator")
    assert sqlite_api.get("/api/v1/users", headers=operator).status_code == 403
    assert sqlite_api.post("/api/v1/users", json={"username": "eve"}, headers=operator).status_code == 403
    assert sqlite_api.post("/api/v1/users/victor/password-reset", headers=operator).status_code == 403


def test_audit_and_dead_letters_filter(sqlite_api: TestClient, sqlite_engine: Engine) -> None:
    login(sqlite_api, "viewer")
    sqlite_api.post("/api/v1/auth/token", data={"username": "victor", "password": "wrong" + PASSWORD})
    now = datetime.now(UTC)
    with Session(sqlite_engine) as session, session.begin():
        for topic, kind in (
            ("anpr/v1/north/gate1/events", "invalid"),
            ("anpr/v1/south/yard1/events", "too_large"),
        ):
            session.add(DeadLetter(received_at=now, topic=topic, kind=kind, reason="bad", payload=b"xx"))
    admin = login(sqlite_api, "admin")
    failed = sqlite_api.get("/api/v1/audit", params={"action": "login_failed"}, headers=admin).json()
    assert [(e["username"], e["action"]) for e in failed] == [("victor", "login_failed")]
    later = (now + timedelta(hours=1)).isoformat()
    assert sqlite_api.get("/api/v1/audit", params={"since": later}, headers=admin).json() == []
    naive = sqlite_api.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=admin)
    assert naive.status_code == 422
    by_kind = sqlite_api.get("/api/v1/dead-letters", params={"kind": "too_large"}, headers=admin).json()
    assert [d["topic"] for d in by_kind] == ["anpr/v1/south/yard1/events"]
    by_topic = sqlite_api.get("/api/v1/dead-letters", params={"topic": "north/"}, headers=admin).json()
    assert [d["kind"] for d in by_topic] == ["invalid"]
    # LIKE wildcards in the filter are plain characters.
    assert sqlite_api.get("/api/v1/dead-letters", params={"topic": "%"}, headers=admin).json() == []


def test_a_user_changes_their_own_password(sqlite_api: TestClient, sqlite_engine: Engine) -> None:
    admin = login(sqlite_api, "admin")
    first = sqlite_api.post("/api/v1/users", json={"username": "nina"}, headers=admin).json()[
        "one_time_password"
    ]
    signed_in = sqlite_api.post("/api/v1/auth/token", data={"username": "nina", "password": first}).json()
    nina = _bearer(signed_in["access_token"])
    wrong = sqlite_api.post(
        "/api/v1/auth/password", json={"current_password": "nope", "new_password": PASSWORD}, headers=nina
    )
    assert wrong.status_code == 403
    short = sqlite_api.post(
        "/api/v1/auth/password", json={"current_password": first, "new_password": "short"}, headers=nina
    )
    assert short.status_code == 422 and "at least" in short.json()["detail"][0]["msg"]
    changed = sqlite_api.post(
        "/api/v1/auth/password",
        json={"current_password": first, "new_password": "my own long secret"},
        headers=nina,
    )
    assert changed.status_code == 200, changed.text
    # The answer's token works; the session from before the change does not; so does the new password.
    assert (
        sqlite_api.get("/api/v1/auth/me", headers=_bearer(changed.json()["access_token"])).status_code == 200
    )
    assert sqlite_api.get("/api/v1/auth/me", headers=nina).status_code == 401
    assert (
        sqlite_api.post("/api/v1/auth/token", data={"username": "nina", "password": first}).status_code == 401
    )
    again = sqlite_api.post("/api/v1/auth/token", data={"username": "nina", "password": "my own long secret"})
    assert again.status_code == 200
    with Session(sqlite_engine) as session:
        assert "password_change" in session.scalars(select(AuditEntry.action)).all()
