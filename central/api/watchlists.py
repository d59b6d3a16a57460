"""Watchlists: CRUD, CSV import/export, assignment to sites and gates, site time zones, push state.

Viewers read; operators edit. Every change is audited, and every change pushes the new bundle to
the devices of the sites concerned (stored first, published second, like config push). Reading a
list's entries is audited too: plates are personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central import audit
from central.api.deps import ContextDep, Operator, Principal, SessionDep, Viewer, client_address
from central.api.params import PRINTABLE, DeviceIdPath, unprocessable
from central.db.models import Device, Site, Watchlist, WatchlistAssignment, WatchlistEntryRow
from central.watchlists import csv_io, lists, push
from common.watchlists import WATCHLIST_ID_PATTERN, ListKind, WatchlistEntry, check_timezone

router = APIRouter(prefix="/api/v1", tags=["watchlists"])
ListId = Annotated[str, Field(pattern=WATCHLIST_ID_PATTERN)]
ListIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=WATCHLIST_ID_PATTERN)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchlistIn(_In):
    list_id: ListId
    name: str = Field(min_length=1, max_length=128, pattern=PRINTABLE)
    kind: ListKind


class WatchlistPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=128, pattern=PRINTABLE)
    kind: ListKind | None = None


class AssignmentIn(_In):
    site_id: ListId
    gate_id: ListId | None = Field(default=None, description="one gate; none: every gate of the site")


class AssignmentOut(BaseModel):
    site_id: str
    gate_id: str | None


class WatchlistOut(BaseModel):
    list_id: str
    name: str
    kind: str
    entries: int
    assignments: list[AssignmentOut]
    updated_at: datetime
    updated_by: str


class EntryOut(BaseModel):
    id: int
    entry: WatchlistEntry
    warning: str | None = Field(
        default=None, description="e.g. the plate fits no known format (stored anyway)"
    )


class WatchlistDetail(WatchlistOut):
    items: list[EntryOut]


class ImportResult(BaseModel):
    list_id: str
    imported: int
    mode: str
    pushed_to: list[str]
    unknown_format: list[str] = Field(
        default_factory=list, description="imported plates that fit no known format (typos? foreign plates?)"
    )
    format_checked: bool = Field(
        default=True, description="false: the list was too long to check every plate"
    )


class SiteSettings(_In):
    timezone: str = Field(description="IANA time zone, e.g. Europe/Moscow")


class PushStateOut(BaseModel):
    device_id: str
    version: int | None
    published: bool
    ack_outcome: str | None
    ack_reason: str | None
    running_version: int | None


def _list_or_404(session: Session, list_id: str) -> Watchlist:
    found = session.get(Watchlist, list_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such watchlist")
    return found


def _out(session: Session, row: Watchlist, count: int) -> WatchlistOut:
    return WatchlistOut(
        list_id=row.list_id,
        name=row.name,
        kind=row.kind,
        entries=count,
        assignments=[
            AssignmentOut(site_id=a.site_id, gate_id=a.gate_id or None)
            for a in lists.assignments_of(session, row.list_id)
        ],
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _commit_and_push(
    request: Request,
    session: Session,
    ctx: ContextDep,
    user: Principal,
    action: str,
    detail: dict[str, object],
    sites: set[str],
) -> list[str]:
    """Audit, stage the pushes of the sites concerned, commit all at once, then publish."""
    audit.record(session, user.username, action, detail, client_address(request))
    try:
        staged = push.stage_for_sites(session, sites, user.username)
    except push.WatchlistPushError as exc:
        session.rollback()
        raise unprocessable(("body",), str(exc)) from exc
    session.commit()  # stored before publishing: a push is never lost, at worst published on reconnect
    for row in staged:
        if push.publish(session, row, ctx.publisher):
            session.commit()
    return [row.device_id for row in staged]


@router.get("/watchlists")
def all_lists(_user: Viewer, session: SessionDep) -> list[WatchlistOut]:
    counts = lists.entry_counts(session)
    rows = session.scalars(select(Watchlist).order_by(Watchlist.list_id))
    return [_out(session, row, counts.get(row.list_id, 0)) for row in rows]


@router.post("/watchlists", status_code=status.HTTP_201_CREATED)
def create_list(
    body: WatchlistIn, request: Request, user: Operator, session: SessionDep, ctx: ContextDep
) -> WatchlistOut:
    if session.get(Watchlist, body.list_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"watchlist {body.list_id} exists")
    now = datetime.now(UTC)
    row = Watchlist(
        list_id=body.list_id,
        name=body.name,
        kind=body.kind,
        created_at=now,
        updated_at=now,
        updated_by=user.username,
    )
    session.add(row)
    _commit_and_push(request, session, ctx, user, "watchlist_create", body.model_dump(), set())
    return _out(session, row, 0)


@router.get("/watchlists/{list_id}")
def get_list(list_id: ListIdPath, request: Request, user: Viewer, session: SessionDep) -> WatchlistDetail:
    row = _list_or_404(session, list_id)
    items = [EntryOut(id=entry_id, entry=entry) for entry_id, entry in lists.entries_of(session, list_id)]
    audit.record(session, user.username, "watchlist_view", {"list_id": list_id}, client_address(request))
    session.commit()
    return WatchlistDetail(**_out(session, row, len(items)).model_dump(), items=items)


@router.patch("/watchlists/{list_id}")
def update_list(
    list_id: ListIdPath,
    body: WatchlistPatch,
    request: Request,
    user: Operator,
    session: SessionDep,
    ctx: ContextDep,
) -> WatchlistOut:
    row = _list_or_404(session, list_id)
    changes = body.model_dump(exclude_none=True)
    for name, value in changes.items():
        setattr(row, name, value)
    lists.touch(session, row, user.username)
    sites = lists.sites_of_list(session, list_id)
    _commit_and_push(request, session, ctx, user, "watchlist_update", {"list_id": list_id, **changes}, sites)
    return _out(session, row, lists.entry_counts(session).get(list_id, 0))


@router.delete("/watchlists/{list_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_list(
    list_id: ListIdPath, request: Request, user: Operator, session: SessionDep, ctx: ContextDep
) -> None:
    row = _list_or_404(session, list_id)
    sites = lists.sites_of_list(session, list_id)
    session.execute(delete(WatchlistEntryRow).where(WatchlistEntryRow.list_id == list_id))
    session.execute(delete(WatchlistAssignment).where(WatchlistAssignment.list_id == list_id))
    session.delete(row)
    _commit_and_push(request, session, ctx, user, "watchlist_delete", {"list_id": list_id}, sites)


@router.post("/watchlists/{list_id}/entries", status_code=status.HTTP_201_CREATED)
def add_entry(
    list_id: ListIdPath,
    entry: WatchlistEntry,
    request: Request,
    user: Operator,
    session: SessionDep,
    ctx: ContextDep,
) -> EntryOut:
    row = _list_or_404(session, list_id)
    duplicate = session.scalar(
        select(WatchlistEntryRow.id).where(
            WatchlistEntryRow.list_id == list_id,
            WatchlistEntryRow.plate == entry.plate,
            WatchlistEntryRow.match == entry.match,
        )
    )
    if duplicate is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{entry.plate} ({entry.match}) is already on the list")
    stored = lists.entry_row(list_id, entry)
    session.add(stored)
    lists.touch(session, row, user.username)
    session.flush()
    _commit_and_push(
        request,
        session,
        ctx,
        user,
        "watchlist_entry_add",
        {"list_id": list_id, "plate": entry.plate},
        lists.sites_of_list(session, list_id),
    )
    problem = lists.format_problem(entry.plate)
    return EntryOut(id=stored.id, entry=entry, warning=None if problem is None else f"stored, but {problem}")


@router.delete("/watchlists/{list_id}/entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_entry(
    list_id: ListIdPath, entry_id: int, request: Request, user: Operator, session: SessionDep, ctx: ContextDep
) -> None:
    row = _list_or_404(session, list_id)
    stored = session.get(WatchlistEntryRow, entry_id)
    if stored is None or stored.list_id != list_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such entry on this list")
    plate = stored.plate
    session.delete(stored)
    lists.touch(session, row, user.username)
    _commit_and_push(
        request,
        session,
        ctx,
        user,
        "watchlist_entry_remove",
        {"list_id": list_id, "plate": plate},
        lists.sites_of_list(session, list_id),
    )


@router.put("/watchlists/{list_id}/entries.csv")
def import_csv(
    list_id: ListIdPath,
    request: Request,
    user: Operator,
    session: SessionDep,
    ctx: ContextDep,
    document: Annotated[str, Body(media_type="text/csv", description="plate,match,valid_from,...")],
    mode: Annotated[str, Query(pattern="^(replace|append)$")] = "replace",
) -> ImportResult:
    row = _list_or_404(session, list_id)
    try:
        entries = csv_io.parse_csv(document)
        unknown, checked = lists.unknown_formats(entries)
    except csv_io.CsvImportError as exc:
        # One FastAPI-shaped error per bad line (the first 50), each naming its line.
        errors = [{"loc": ("body",), "msg": m, "type": "value_error", "input": None} for m in exc.errors]
        raise RequestValidationError(errors[:50]) from exc
    if mode == "append":
        have = {(e.plate, e.match): e for _, e in lists.entries_of(session, list_id)}
        have.update({(e.plate, e.match): e for e in entries})  # an imported row replaces its twin
        entries = list(have.values())
    count = lists.replace_entries(session, list_id, entries)
    lists.touch(session, row, user.username)
    pushed = _commit_and_push(
        request,
        session,
        ctx,
        user,
        "watchlist_import",
        {"list_id": list_id, "mode": mode, "entries": count},
        lists.sites_of_list(session, list_id),
    )
    return ImportResult(
        list_id=list_id,
        imported=count,
        mode=mode,
        pushed_to=pushed,
        unknown_format=unknown[:100],
        format_checked=checked,
    )


@router.get(
    "/watchlists/{list_id}/entries.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the list's entries"}},
)
def export_csv(list_id: ListIdPath, request: Request, user: Viewer, session: SessionDep) -> Response:
    _list_or_404(session, list_id)
    entries = [entry for _, entry in lists.entries_of(session, list_id)]
    audit.record(
        session,
        user.username,
        "watchlist_export",
        {"list_id": list_id, "entries": len(entries)},
        client_address(request),
    )
    session.commit()
    return Response(
        csv_io.to_csv(entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{list_id}.csv"'},
    )


@router.put("/watchlists/{list_id}/assignments")
def assign(
    list_id: ListIdPath,
    body: list[AssignmentIn],
    request: Request,
    user: Operator,
    session: SessionDep,
    ctx: ContextDep,
) -> WatchlistOut:
    row = _list_or_404(session, list_id)
    before = lists.sites_of_list(session, list_id)
    session.execute(delete(WatchlistAssignment).where(WatchlistAssignment.list_id == list_id))
    session.flush()
    wanted = {(a.site_id, a.gate_id or "") for a in body}
    session.add_all(WatchlistAssignment(list_id=list_id, site_id=s, gate_id=g) for s, g in sorted(wanted))
    lists.touch(session, row, user.username)
    session.flush()
    detail = {"list_id": list_id, "assignments": [f"{s}/{g or '*'}" for s, g in sorted(wanted)]}
    _commit_and_push(request, session, ctx, user, "watchlist_assign", detail, before | {s for s, _ in wanted})
    return _out(session, row, lists.entry_counts(session).get(list_id, 0))


@router.put("/sites/{site_id}/settings")
def site_settings(
    site_id: DeviceIdPath,
    body: SiteSettings,
    request: Request,
    user: Operator,
    session: SessionDep,
    ctx: ContextDep,
) -> SiteSettings:
    try:
        check_timezone(body.timezone)
    except ValueError as exc:
        raise unprocessable(("body", "timezone"), str(exc), body.timezone) from exc
    site = session.get(Site, site_id) or Site(site_id=site_id, timezone=body.timezone)
    site.timezone = body.timezone
    session.add(site)
    _commit_and_push(
        request, session, ctx, user, "site_settings", {"site_id": site_id, **body.model_dump()}, {site_id}
    )
    return body


@router.get("/devices/{device_id}/watchlists")
def push_state(device_id: DeviceIdPath, _user: Viewer, session: SessionDep) -> PushStateOut:
    if session.get(Device, device_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such device")
    latest = push.latest_push(session, device_id)
    if latest is None:
        return PushStateOut(
            device_id=device_id,
            version=None,
            published=False,
            ack_outcome=None,
            ack_reason=None,
            running_version=None,
        )
    return PushStateOut(
        device_id=device_id,
        version=latest.version,
        published=latest.published_at is not None,
        ack_outcome=latest.ack_outcome,
        ack_reason=latest.ack_reason,
        running_version=latest.ack_running_version,
    )
