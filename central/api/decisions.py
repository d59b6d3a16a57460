"""Gate decisions synced from the boxes: what each gate did about which plate, and why.

Listing decisions shows plates, so each search is audited like an event search.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import select

from central import audit
from central.api.deps import SessionDep, Viewer, client_address
from central.api.params import printable, unprocessable
from central.db.models import GateDecisionRow
from common.plates.search import stored_plate_key

router = APIRouter(prefix="/api/v1/decisions", tags=["gates"])
IdText = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
MAX_DECISIONS = 500


class DecisionOut(BaseModel):
    decision_id: uuid.UUID
    site_id: str
    device_id: str
    gate_id: str
    channel_id: str
    captured_at: datetime
    decided_at: datetime
    plate_text: str | None
    plate_latin: str | None
    confidence: float | None
    requested_by: str | None
    action: str
    rule: str
    alert: bool
    outputs_ok: bool
    latency_ms: float | None
    watchlist_version: int
    matches: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    has_crop: bool

    @classmethod
    def from_row(cls, row: GateDecisionRow) -> DecisionOut:
        data = {name: getattr(row, name) for name in cls.model_fields if name != "has_crop"}
        return cls(**data, has_crop=row.crop_jpeg is not None)


@router.get("")
def decisions(
    request: Request,
    user: Viewer,
    session: SessionDep,
    site: IdText = None,
    device: IdText = None,
    gate: IdText = None,
    plate: Annotated[str | None, printable(32)] = None,
    action: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    alert: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DECISIONS)] = 100,
) -> list[DecisionOut]:
    """Newest first."""
    statement = select(GateDecisionRow)
    for column, value in (
        (GateDecisionRow.site_id, site),
        (GateDecisionRow.device_id, device),
        (GateDecisionRow.gate_id, gate),
        (GateDecisionRow.action, action),
        (GateDecisionRow.alert, alert),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if plate:
        statement = statement.where(GateDecisionRow.plate_norm == stored_plate_key(plate))
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise unprocessable(("query", name), f"{name} must carry a time zone", value.isoformat())
    if since is not None:
        statement = statement.where(GateDecisionRow.decided_at >= since)
    if until is not None:
        statement = statement.where(GateDecisionRow.decided_at < until)
    rows = session.scalars(
        statement.order_by(GateDecisionRow.decided_at.desc(), GateDecisionRow.decision_id.desc()).limit(limit)
    ).all()
    detail = {"site": site, "device": device, "gate": gate, "plate": plate, "results": len(rows)}
    audit.record(session, user.username, "decisions_search", detail, client_address(request))
    session.commit()
    return [DecisionOut.from_row(row) for row in rows]


@router.get(
    "/{decision_id}/crop.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the deciding plate crop"}},
)
def crop(decision_id: uuid.UUID, _user: Viewer, session: SessionDep) -> Response:
    row = session.get(GateDecisionRow, decision_id)
    if row is None or row.crop_jpeg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no crop for this decision")
    return Response(
        row.crop_jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )
