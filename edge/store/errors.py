"""Errors of the event store; each message says what happened and what to do."""

from __future__ import annotations

import errno
import sqlite3


class StoreError(Exception):
    """Base of the event store's errors."""


class StoreFullError(StoreError):
    """The disk (or the database's page limit) is full: the write was rolled back, nothing stored is lost."""


class StoreKeyMismatchError(StoreError):
    """The key given is not the key this database was created with."""


class StoreSchemaError(StoreError):
    """The database schema cannot be used by this version of the software."""


class StoreCorruptError(StoreError):
    """A stored value failed authentication: the database was modified outside the store."""


class EventNotFoundError(StoreError, KeyError):
    """No event with that id is stored."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "event not found"


class DuplicateEventError(StoreError):
    """An event with that id is already stored."""


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLite's SQLITE_FULL and for an OS-level ENOSPC/EDQUOT."""
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF == sqlite3.SQLITE_FULL
        return "database or disk is full" in str(exc)
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return False
