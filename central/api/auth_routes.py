"""Login (OAuth2 password flow) and who-am-I."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from central import audit, metrics
from central.api.deps import ContextDep, SessionDep, Viewer, client_address
from central.api.params import has_control_characters, unprocessable
from central.api.schemas import MeOut, TokenOut
from central.auth.users import authenticate

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


@router.get("/me")
def me(user: Viewer) -> MeOut:
    return MeOut(username=user.username, role=user.role)
