"""User accounts: add, change password, list, authenticate. Roles: admin > operator > viewer."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth.passwords import hash_password, verify_password
from central.db.models import User

ROLES = ("viewer", "operator", "admin")  # ascending privilege
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class UserError(ValueError):
    """A user operation that cannot be done; the message says why."""


def role_at_least(role: str, required: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(required)


def add_user(session: Session, username: str, password: str, role: str) -> User:
    if not _USERNAME.match(username):
        raise UserError("username must be 1-64 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if session.get(User, username) is not None:
        raise UserError(f"user {username!r} already exists")
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    now = datetime.now(UTC)
    user = User(
        username=username,
        password_hash=password_hash,
        role=role,
        disabled=False,
        created_at=now,
        tokens_valid_after=now,
    )
    session.add(user)
    return user


def set_password(session: Session, username: str, password: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    try:
        user.password_hash = hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    user.tokens_valid_after = datetime.now(UTC)  # tokens issued before now stop working
    return user


def set_role(session: Session, username: str, role: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    user.role = role
    user.tokens_valid_after = datetime.now(UTC)
    return user


def set_disabled(session: Session, username: str, disabled: bool) -> User:
    user = session.get(User, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    user.disabled = disabled
    user.tokens_valid_after = datetime.now(UTC)  # a disabled account's sessions end at once
    return user


def keep_an_admin(session: Session, username: str, role: str | None, disabled: bool | None) -> None:
    """Refuse (over HTTP) to demote or disable the last enabled admin: nobody could administer central
    from the UI after. The CLI, run by whoever holds the database, may still do it."""
    user = session.get(User, username)
    if user is None or user.role != "admin" or user.disabled:
        return
    if (role is None or role == "admin") and not disabled:
        return
    others = session.scalars(
        select(User.username).where(User.role == "admin", User.disabled.is_(False), User.username != username)
    ).first()
    if others is None:
        raise UserError("this is the last enabled admin; make another admin first")


def one_time_password() -> str:
    """A random password to hand over once (16 URL-safe characters, about 96 bits)."""
    return secrets.token_urlsafe(12)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.get(User, username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        return None
    return user
