"""User administration for admins: list, create, change role, disable, reset password. Audited."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from central import audit
from central.api.deps import Admin, ContextDep, SessionDep, Viewer, client_address
from central.api.params import UsernamePath, unprocessable
from central.api.schemas import TokenOut
from central.auth.users import (
    UserError,
    add_user,
    authenticate,
    keep_an_admin,
    list_users,
    one_time_password,
    set_disabled,
    set_password,
    set_role,
)
from central.db.models import User
from central.search import as_utc

router = APIRouter(prefix="/api/v1/users", tags=["users"])
account_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
Role = Literal["viewer", "operator", "admin"]


class UserOut(BaseModel):
    username: str
    role: str
    disabled: bool
    created_at: datetime
    language: str | None

    @classmethod
    def from_row(cls, row: User) -> UserOut:
        return cls(
            username=row.username,
            role=row.role,
            disabled=row.disabled,
            created_at=as_utc(row.created_at),
            language=row.language,
        )


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: Role = "viewer"


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class OneTimePassword(BaseModel):
    username: str
    one_time_password: str = Field(description="shown once; central keeps only its hash")


def _refuse(exc: UserError, loc: tuple[str, ...] = ("body",)) -> Exception:
    """404 for an unknown user; otherwise a 422 shaped like FastAPI's, naming the field at fault."""
    if str(exc).startswith("no user"):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    return unprocessable(loc, str(exc))


@router.get("")
def users(_admin: Admin, session: SessionDep) -> list[UserOut]:
    return [UserOut.from_row(u) for u in list_users(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(request: Request, admin: Admin, session: SessionDep, body: UserCreate) -> OneTimePassword:
    password = one_time_password()
    try:
        add_user(session, body.username, password, body.role)
    except UserError as exc:
        raise _refuse(exc, ("body", "username")) from exc
    detail = {"user": body.username, "role": body.role}
    audit.record(session, admin.username, "user_create", detail, client_address(request))
    session.commit()
    return OneTimePassword(username=body.username, one_time_password=password)


@router.patch("/{username}")
def change_user(
    username: UsernamePath, request: Request, admin: Admin, session: SessionDep, body: UserChange
) -> UserOut:
    try:
        keep_an_admin(session, username, body.role, body.disabled)
        if body.role is not None:
            user = set_role(session, username, body.role)
        if body.disabled is not None:
            user = set_disabled(session, username, body.disabled)
        if body.role is None and body.disabled is None:
            raise UserError("nothing to change: give role or disabled")
    except UserError as exc:
        raise _refuse(exc) from exc
    detail = {"user": username, **body.model_dump(exclude_none=True)}
    audit.record(session, admin.username, "user_change", detail, client_address(request))
    session.commit()
    return UserOut.from_row(user)


@router.post("/{username}/password-reset")
def reset_password(
    username: UsernamePath, request: Request, admin: Admin, session: SessionDep
) -> OneTimePassword:
    """A new random password; the user's sessions end at once."""
    password = one_time_password()
    try:
        set_password(session, username, password)
    except UserError as exc:
        raise _refuse(exc) from exc
    audit.record(session, admin.username, "password_reset", {"user": username}, client_address(request))
    session.commit()
    return OneTimePassword(username=username, one_time_password=password)


@account_router.post("/password")
def change_own_password(
    request: Request, user: Viewer, session: SessionDep, ctx: ContextDep, body: PasswordChange
) -> TokenOut:
    """Change my password (say, the one-time one an admin gave me). Every other session of mine
    ends; the answer is a fresh token for this one. Wrong current passwords count as failed logins."""
    client = client_address(request)
    wait = ctx.limiter.retry_after(user.username, client)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many failed attempts; try again later",
            {"Retry-After": str(math.ceil(wait))},
        )  # fmt: skip
    if authenticate(session, user.username, body.current_password) is None:
        ctx.limiter.record_failure(user.username, client)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is wrong")
    ctx.limiter.record_success(user.username, client)
    try:
        account = set_password(session, user.username, body.new_password)
    except UserError as exc:
        raise _refuse(exc, ("body", "new_password")) from exc
    audit.record(session, user.username, "password_change", {}, client)
    session.commit()
    # Issued just after the cut-off the change set, so this token is the one that still works.
    now = max(datetime.now(UTC), as_utc(account.tokens_valid_after) + timedelta(milliseconds=1))
    token, expires = ctx.tokens.issue(user.username, user.role, now=now)
    return TokenOut(access_token=token, expires_in=int((expires - now).total_seconds()), role=user.role)
