"""FastAPI dependencies: the shared context, a database session, the authenticated user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from central.auth.tokens import TokenError
from central.auth.users import role_at_least
from central.context import AppContext
from central.db.models import User
from central.search import as_utc

TOKEN_URL = "/api/v1/auth/token"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


@dataclass(frozen=True)
class Principal:
    username: str
    role: str


class AuthError(Exception):
    """Why a token was refused."""


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def get_session(ctx: Annotated[AppContext, Depends(get_ctx)]) -> Iterator[Session]:
    with ctx.sessions() as session:
        yield session


def principal_for_token(ctx: AppContext, session: Session, token: str) -> Principal:
    """Check signature, expiry and that the account still exists, is enabled and was not reset."""
    try:
        claims = ctx.tokens.verify(token)
    except TokenError as exc:
        raise AuthError(str(exc)) from exc
    user = session.get(User, claims.username)
    if user is None or user.disabled:
        raise AuthError("account is unknown or disabled")
    if claims.issued_at < as_utc(user.tokens_valid_after):
        raise AuthError("token was issued before the password or role changed")
    # The role comes from the database, so a demotion takes effect at once.
    return Principal(user.username, user.role)


def current_user(
    ctx: Annotated[AppContext, Depends(get_ctx)],
    session: Annotated[Session, Depends(get_session)],
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated", {"WWW-Authenticate": "Bearer"})
    try:
        return principal_for_token(ctx, session, token)
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), {"WWW-Authenticate": "Bearer"}) from exc


def require(role: str) -> Callable[[Principal], Principal]:
    def dependency(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        if not role_at_least(user.role, role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs the {role} role")
        return user

    return dependency


def client_address(request: Request) -> str:
    """The client's address. X-Forwarded-For was already applied, from `http.trusted_proxies` only,
    by the app's ProxyHeadersMiddleware (central.app), so this is the connection's peer or the
    address a trusted proxy named."""
    return (request.client.host if request.client else "unknown")[:64]


SessionDep = Annotated[Session, Depends(get_session)]
ContextDep = Annotated[AppContext, Depends(get_ctx)]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
