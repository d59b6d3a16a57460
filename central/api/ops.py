"""Health, readiness, Prometheus metrics, and the admin's audit and dead-letter views."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from central.api.deps import Admin, ContextDep, SessionDep
from central.api.params import UsernameQuery
from central.api.schemas import AuditOut, DeadLetterOut
from central.db.migrate import is_up_to_date
from central.db.models import AuditEntry, DeadLetter
from central.search import as_utc

router = APIRouter(tags=["operations"])


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
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if username is not None:
        statement = statement.where(AuditEntry.username == username)
    return [
        AuditOut(at=as_utc(e.at), username=e.username, action=e.action, detail=e.detail, client=e.client)
        for e in session.scalars(statement)
    ]


@router.get("/api/v1/dead-letters")
def dead_letters(
    _user: Admin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[DeadLetterOut]:
    rows = session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit))
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
