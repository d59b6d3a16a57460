"""Event search, detail and plate crops. Every search and view is written to the audit log."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from central import audit, metrics
from central.api.deps import SessionDep, Viewer, client_address
from central.api.params import IdQuery, printable, unprocessable
from central.api.schemas import EventDetail, EventPage
from central.db.models import Event, EventImage
from central.event_summary import EventSummary
from central.search import MAX_PAGE, EventQuery, PlateMatch, SearchError, search_events

router = APIRouter(prefix="/api/v1/events", tags=["events"])
# Cursors are unpadded URL-safe base64 (central.search.encode_cursor).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"


@router.get("")
def search(
    request: Request,
    user: Viewer,
    session: SessionDep,
    plate: Annotated[str | None, printable(32, "plate, Cyrillic or Latin")] = None,
    match: Annotated[PlateMatch, Query(description="exact, prefix, or fuzzy (one edit, OCR homoglyphs)")] = (
        PlateMatch.exact
    ),
    site: IdQuery = None,
    device: IdQuery = None,
    channel: IdQuery = None,
    country: Annotated[str | None, printable(8)] = None,
    since: Annotated[datetime | None, Query(description="captured at or after (ISO 8601 with zone)")] = None,
    until: Annotated[datetime | None, Query(description="captured before (ISO 8601 with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, pattern=CURSOR_PATTERN)] = None,
) -> EventPage:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise unprocessable(("query", name), f"{name} must carry a time zone", str(value))
    query = EventQuery(plate, match, site, device, channel, country, since, until, limit, cursor)
    started = time.perf_counter()
    try:
        page = search_events(session, query)
    except SearchError as exc:
        raise unprocessable(("query",), str(exc)) from exc
    metrics.SEARCH_SECONDS.observe(time.perf_counter() - started)
    if cursor is None:  # one audit entry per search, not per page
        detail = {**query.audit_detail(), "results": len(page.events)}
        audit.record(session, user.username, "search", detail, client_address(request))
        session.commit()
    return EventPage(events=[EventSummary.from_row(e) for e in page.events], next_cursor=page.next_cursor)


def _event_or_404(session: SessionDep, event_id: uuid.UUID) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such event")
    return event


@router.get("/{event_id}")
def detail(event_id: uuid.UUID, request: Request, user: Viewer, session: SessionDep) -> EventDetail:
    event = _event_or_404(session, event_id)
    audit.record(
        session,
        user.username,
        "view_event",
        {"event_id": str(event_id), "plate": event.plate_text},
        client_address(request),
    )
    session.commit()
    return EventDetail.from_event(event)


@router.get(
    "/{event_id}/crop.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the plate crop"}},
)
def crop(event_id: uuid.UUID, _user: Viewer, session: SessionDep) -> Response:
    image = session.get(EventImage, event_id)
    if image is None or image.crop_jpeg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no crop for this event")
    return Response(
        image.crop_jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )
