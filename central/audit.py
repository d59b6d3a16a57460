"""Audit log: who searched or viewed which plates, who pushed which config. Plates are personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from central.db.models import AuditEntry


def record(session: Session, username: str, action: str, detail: dict[str, Any], client: str | None) -> None:
    """Add an entry to the caller's transaction, so the action and its record commit together."""
    session.add(
        AuditEntry(at=datetime.now(UTC), username=username, action=action, detail=detail, client=client)
    )
