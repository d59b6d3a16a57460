"""Search results as files: CSV, or a ZIP with the crops. Streamed page by page, bounded, audited."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from central import audit
from central.api.deps import ContextDep, SessionDep, Viewer, client_address
from central.api.events import Filters
from central.api.params import unprocessable
from central.db.models import Event, EventImage
from central.search import MAX_PAGE, EventQuery, SearchError, as_utc, build_statement, search_events

router = APIRouter(prefix="/api/v1/events", tags=["events"])
MAX_CSV_ROWS = 100_000
MAX_ZIP_EVENTS = 2_000
COLUMNS = [
    "event_id", "captured_at", "plate_text", "plate_latin", "country", "region", "plate_valid",
    "confidence", "site_id", "device_id", "channel_id", "has_crop",
]  # fmt: skip


def _cell(value: object) -> str:
    text = (
        as_utc(value).isoformat() if isinstance(value, datetime) else str(value if value is not None else "")
    )
    # A spreadsheet runs a cell that starts with = + - @ as a formula: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _rows(sessions: sessionmaker[Session], query: EventQuery, cap: int) -> Iterator[list[Event]]:
    """Pages of matching events, newest first, each read in its own short transaction."""
    left, cursor = cap, None
    while left > 0:
        with sessions() as session:
            page = search_events(session, replace(query, limit=min(MAX_PAGE, left), cursor=cursor))
            session.expunge_all()
        if page.events:
            yield page.events
        left -= len(page.events)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _csv_lines(pages: Iterator[list[Event]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for events in pages:
        for event in events:
            writer.writerow([_cell(getattr(event, column)) for column in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


class _Chunks(io.RawIOBase):
    """A write-only, unseekable file that collects what ZipFile writes, for streaming."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _crops(sessions: sessionmaker[Session], ids: list[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    if not ids:
        return {}
    with sessions() as session:
        statement = select(EventImage.event_id, EventImage.crop_jpeg).where(EventImage.event_id.in_(ids))
        return {event_id: crop for event_id, crop in session.execute(statement) if crop}


def _crop_name(event: Event) -> str:
    plate = re.sub(r"[^A-Za-z0-9]", "_", event.plate_latin)[:32]
    return f"crops/{as_utc(event.captured_at):%Y%m%dT%H%M%S}_{plate}_{event.event_id}.jpg"


def _zip_chunks(sessions: sessionmaker[Session], pages: Iterator[list[Event]]) -> Iterator[bytes]:
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow([*COLUMNS, "crop_file"])
        for events in pages:
            crops = _crops(sessions, [e.event_id for e in events if e.has_crop])
            for event in events:
                crop = crops.get(event.event_id)
                name = _crop_name(event)
                if crop:
                    archive.writestr(name, crop)
                writer.writerow([*(_cell(getattr(event, c)) for c in COLUMNS), name if crop else ""])
            yield sink.drain()
        archive.writestr("events.csv", table.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    yield sink.drain()


def _audit(request: Request, session: Session, username: str, query: EventQuery, kind: str, cap: int) -> None:
    detail = {**query.audit_detail(), "format": kind, "max_rows": cap}
    audit.record(session, username, "export", detail, client_address(request))
    session.commit()


def _check_or_422(query: EventQuery, session: Session) -> None:
    """Refuse a bad query (422) before the response starts: a stream cannot change its status later."""
    try:
        build_statement(query, session.get_bind().dialect.name)
    except SearchError as exc:
        raise unprocessable(("query",), str(exc)) from exc


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@router.get("/export.csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}})
def export_csv(
    request: Request,
    user: Viewer,
    session: SessionDep,
    ctx: ContextDep,
    filters: Filters,
    limit: Annotated[
        int, Query(ge=1, le=MAX_CSV_ROWS, description="most rows to export, newest first")
    ] = 10_000,
) -> StreamingResponse:
    _check_or_422(filters, session)
    _audit(request, session, user.username, filters, "csv", limit)
    return StreamingResponse(
        _csv_lines(_rows(ctx.sessions, filters, limit)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="anpr-events-{_stamp()}.csv"'},
    )


@router.get(
    "/export.zip", response_class=StreamingResponse, responses={200: {"content": {"application/zip": {}}}}
)
def export_zip(
    request: Request,
    user: Viewer,
    session: SessionDep,
    ctx: ContextDep,
    filters: Filters,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ZIP_EVENTS, description="most events to export, newest first")
    ] = 500,
) -> StreamingResponse:
    _check_or_422(filters, session)
    _audit(request, session, user.username, filters, "zip", limit)
    return StreamingResponse(
        _zip_chunks(ctx.sessions, _rows(ctx.sessions, filters, limit)),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="anpr-events-{_stamp()}.zip"'},
    )
