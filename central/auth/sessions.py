"""Session upkeep: revoke a token at logout, trade a live token for a fresh one (sliding session).

A revoked token's id stays in `revoked_tokens` until the token would have expired anyway, so the
table holds at most the tokens signed out within one token lifetime.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from central.auth.tokens import TokenClaims, TokenService
from central.db.models import RevokedToken


class SessionError(ValueError):
    """A refresh that is not allowed; the message says why."""


def is_revoked(session: Session, claims: TokenClaims) -> bool:
    return session.get(RevokedToken, claims.token_id) is not None


def revoke(session: Session, claims: TokenClaims, now: datetime | None = None) -> None:
    """Refuse this token from now on; forget revocations whose tokens have expired meanwhile."""
    now = now or datetime.now(UTC)
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    if session.get(RevokedToken, claims.token_id) is None:
        session.add(RevokedToken(jti=claims.token_id, username=claims.username, expires_at=claims.expires_at))


def refresh(
    session: Session, tokens: TokenService, claims: TokenClaims, role: str, max_age: timedelta
) -> tuple[str, datetime]:
    """A fresh token for the same session, the old one revoked; refused past the session's max age."""
    now = datetime.now(UTC)
    if now - claims.session_started >= max_age:
        raise SessionError("the session reached its maximum age: sign in again")
    # A refreshed session never outlives its maximum age, not even by one token's lifetime.
    token, expires = tokens.issue(
        claims.username,
        role,
        now=now,
        session_started=claims.session_started,
        not_after=claims.session_started + max_age,
    )
    revoke(session, claims, now)
    return token, expires
