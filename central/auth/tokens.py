"""JWT access tokens (HS256) signed with a secret kept in a file, generated on first run.

Sessions slide: a client trades a live token for a fresh one (`refresh`) until the session's
maximum age, counted from the sign-in (`auth_time`), runs out. Each token has an id (`jti`) so
logout can revoke exactly that token (central.auth.sessions).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

ISSUER = "anpr-central"
AUDIENCE = "anpr-central-api"
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32


class TokenError(ValueError):
    """A token that is not ours, is expired or is malformed."""


@dataclass(frozen=True)
class TokenClaims:
    username: str
    role: str
    issued_at: datetime
    expires_at: datetime
    token_id: str
    session_started: datetime


def load_or_create_secret(path: Path) -> bytes:
    """Read the signing secret; create a random one (mode 0600) if the file does not exist."""
    if path.exists():
        secret = path.read_bytes().strip()
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"{path}: JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48).encode()
    # O_EXCL: if two replicas start at once, one creates it and the other reads it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_secret(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret


class TokenService:
    def __init__(self, secret: bytes, lifetime: timedelta) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.lifetime = lifetime

    def issue(
        self,
        username: str,
        role: str,
        now: datetime | None = None,
        session_started: datetime | None = None,
        not_after: datetime | None = None,
    ) -> tuple[str, datetime]:
        """A token for `username`; `session_started` carries the sign-in time over a refresh, and
        `not_after` cuts the token's life short (the session's maximum age)."""
        now = now or datetime.now(UTC)
        expires = now + self.lifetime if not_after is None else min(now + self.lifetime, not_after)
        claims = {
            "auth_time": round((session_started or now).timestamp(), 6),
            "sub": username,
            "role": role,
            # Sub-second iat (RFC 7519 allows it): a password change revokes tokens issued just before it.
            "iat": round(now.timestamp(), 6),
            "exp": int(expires.timestamp()),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["sub", "role", "iat", "exp", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from exc
        if not isinstance(claims["sub"], str) or not isinstance(claims["role"], str):
            raise TokenError("invalid token: malformed claims")
        jti, auth_time = claims.get("jti"), claims.get("auth_time", claims["iat"])
        if not isinstance(jti, str) or not isinstance(auth_time, int | float):
            raise TokenError("invalid token: malformed claims")
        return TokenClaims(
            username=claims["sub"],
            role=claims["role"],
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            token_id=jti,
            session_started=datetime.fromtimestamp(auth_time, UTC),
        )
