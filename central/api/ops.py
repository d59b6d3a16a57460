"""Health, readiness, Prometheus metrics, and the admin's audit and dead-letter views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from central.api.deps import Admin, ContextDep, SessionDep
from central.api.params import UsernameQuery, printable, unprocessable
from central.api.schemas import AuditOut, DeadLetterOut
from central.db.migrate import is_up_to_date
from central.db.models import AuditEntry, DeadLetter
from central.search import as_utc

router = APIRouter(tags=["operations"])


def _zoned(name: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise unprocessable(("query", name), f"{name} must carry a time zone", str(value))
    return as_utc(value)


@router.get("/api/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/api/ready")
def ready(ctx: ContextDep, response: Response) -> dict[str, str]:
    """Readiness: the database is reachable and migrated, and the broker connected if ingest is on."""
    checks: dict[str, str] = {}
    try:
        checks["database"] = (
            "ok" if is_up_to_date(ctx.engine) else "not migrated: run `anpr-central db upgrade`"
        )
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if ctx.ingest is not None:
        checks["mqtt"] = "ok" if ctx.ingest.connected else "not connected"
    ok = all(value == "ok" for value in checks.values())
    response.status_code = status.HTTP_200_OK if ok else status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ready" if ok else "not ready", **checks}


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/audit")
def audit_log(
    _user: Admin,
    session: SessionDep,
    username: UsernameQuery = None,
    action: Annotated[str | None, printable(32, "e.g. search, login, export")] = None,
    since: Annotated[datetime | None, Query(description="at or after (ISO 8601 with zone)")] = None,
    until: Annotated[datetime | None, Query(description="before (ISO 8601 with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """Newest first; every filter given must hold."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if username is not None:
        statement = statement.where(AuditEntry.username == username)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if since is not None:
        statement = statement.where(AuditEntry.at >= _zoned("since", since))
    if until is not None:
        statement = statement.where(AuditEntry.at < _zoned("until", until))
    return [
        AuditOut(at=as_utc(e.at), username=e.username, action=e.action, detail=e.detail, client=e.client)
        for e in session.scalars(statement)
    ]


@router.get("/api/v1/dead-letters")
def dead_letters(
    _user: Admin,
    session: SessionDep,
    kind: Annotated[str | None, printable(32, "the reason class, e.g. invalid")] = None,
    topic: Annotated[str | None, printable(200, "topic contains this text")] = None,
    since: Annotated[datetime | None, Query(description="received at or after (ISO 8601 with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeadLetterOut]:
    """Newest first; every filter given must hold."""
    statement = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if kind is not None:
        statement = statement.where(DeadLetter.kind == kind)
    if topic is not None:
        statement = statement.where(DeadLetter.topic.contains(topic, autoescape=True))
    if since is not None:
        statement = statement.where(DeadLetter.received_at >= _zoned("since", since))
    rows = session.scalars(statement)
    return [
        DeadLetterOut(
            id=d.id,
            received_at=as_utc(d.received_at),
            topic=d.topic,
            kind=d.kind,
            reason=d.reason,
            size=len(d.payload),
        )
        for d in rows
    ]
