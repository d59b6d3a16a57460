"""Login (OAuth2 password flow), session refresh and logout, who-am-I and the user's UI language."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from central import audit, metrics
from central.api.deps import ClaimsDep, ContextDep, SessionDep, Viewer, client_address
from central.api.params import has_control_characters, unprocessable
from central.api.schemas import MeOut, MeUpdate, TokenOut
from central.auth import sessions
from central.auth.users import authenticate
from central.db.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
MAX_USERNAME = 64  # the users table's column


@router.post("/token")
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    ctx: ContextDep,
    session: SessionDep,
) -> TokenOut:
    if has_control_characters(form.username) or len(form.username) > MAX_USERNAME:
        # The name keys the throttle and the audit log: no control characters, no megabytes.
        why = f"a user name has at most {MAX_USERNAME} characters and no control characters"
        raise unprocessable(("body", "username"), why)
    client = client_address(request)
    wait = ctx.limiter.retry_after(form.username, client)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
            {"Retry-After": str(math.ceil(wait))},
        )
    user = authenticate(session, form.username, form.password)
    if user is None:
        ctx.limiter.record_failure(form.username, client)
        metrics.LOGIN_FAILURES.inc()
        audit.record(session, form.username[:64], "login_failed", {}, client)
        session.commit()
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong user name or password", {"WWW-Authenticate": "Bearer"}
        )
    ctx.limiter.record_success(form.username, client)
    token, _expires = ctx.tokens.issue(user.username, user.role)
    audit.record(session, user.username, "login", {}, client)
    session.commit()
    return TokenOut(access_token=token, expires_in=int(ctx.tokens.lifetime.total_seconds()), role=user.role)


@router.post("/refresh")
def refresh_token(user: Viewer, claims: ClaimsDep, ctx: ContextDep, session: SessionDep) -> TokenOut:
    """Trade a live token for a fresh one (the old one is revoked) until the session's maximum age."""
    max_age = timedelta(hours=ctx.config.auth.session_max_hours)
    try:
        token, expires = sessions.refresh(session, ctx.tokens, claims, user.role, max_age)
    except sessions.SessionError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), {"WWW-Authenticate": "Bearer"}) from exc
    session.commit()
    remaining = max(0, int((expires - datetime.now(UTC)).total_seconds()))
    return TokenOut(access_token=token, expires_in=remaining, role=user.role)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, user: Viewer, claims: ClaimsDep, session: SessionDep) -> None:
    """Revoke this token: it is refused from now on, wherever a copy of it is."""
    sessions.revoke(session, claims)
    audit.record(session, user.username, "logout", {}, client_address(request))
    session.commit()


@router.get("/me")
def me(user: Viewer, session: SessionDep) -> MeOut:
    account = session.get(User, user.username)
    return MeOut(username=user.username, role=user.role, language=account.language if account else None)


@router.patch("/me")
def update_me(user: Viewer, session: SessionDep, change: MeUpdate) -> MeOut:
    """The signed-in user's own preferences (the UI language)."""
    account = session.get(User, user.username)
    if account is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account is unknown")
    account.language = change.language
    session.commit()
    return MeOut(username=user.username, role=user.role, language=account.language)
