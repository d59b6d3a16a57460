"""Watchlists in the database: rows to and from common.watchlists models, and each device's bundle."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from central.db.models import Device, Site, Watchlist, WatchlistAssignment, WatchlistEntryRow
from common.plates.validate import validate
from common.watchlists import Validity, WatchlistBundle, WatchlistEntry
from common.watchlists import Watchlist as ListModel

DEFAULT_TIMEZONE = "UTC"
# Checking a plate against every country's formats costs about 0.4 ms: big imports are checked in part.
FORMAT_CHECK_LIMIT = 10_000


def format_problem(plate: str) -> str | None:
    """Why a plate fits no known plate format, or None when it fits one. Such plates are still
    accepted (foreign plates, new formats), but the operator is told: it may be a typo."""
    result = validate(plate)
    return None if result.valid else (result.reason or "fits no known plate format")


def unknown_formats(entries: Iterable[WatchlistEntry]) -> tuple[list[str], bool]:
    """Plates among the first FORMAT_CHECK_LIMIT entries that fit no format; and whether all were checked."""
    items = list(entries)
    checked = items[:FORMAT_CHECK_LIMIT]
    return [e.plate for e in checked if format_problem(e.plate) is not None], len(checked) == len(items)


def entry_of(row: WatchlistEntryRow) -> WatchlistEntry:
    return WatchlistEntry(
        plate=row.plate,
        match=row.match,  # type: ignore[arg-type]
        validity=Validity(
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            weekdays=tuple(int(d) for d in row.weekdays),
            hours=row.hours,
        ),
        note=row.note,
    )


def entry_row(list_id: str, entry: WatchlistEntry) -> WatchlistEntryRow:
    v = entry.validity
    return WatchlistEntryRow(
        list_id=list_id,
        plate=entry.plate,
        match=entry.match,
        valid_from=v.valid_from,
        valid_until=v.valid_until,
        weekdays="".join(str(d) for d in v.weekdays),
        hours=v.hours,
        note=entry.note,
    )


def entries_of(session: Session, list_id: str) -> list[tuple[int, WatchlistEntry]]:
    rows = session.scalars(
        select(WatchlistEntryRow)
        .where(WatchlistEntryRow.list_id == list_id)
        .order_by(WatchlistEntryRow.plate, WatchlistEntryRow.id)
    )
    return [(row.id, entry_of(row)) for row in rows]


def entry_counts(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            select(WatchlistEntryRow.list_id, func.count()).group_by(WatchlistEntryRow.list_id)
        ).all()  # type: ignore[arg-type]
    )


def assignments_of(session: Session, list_id: str) -> list[WatchlistAssignment]:
    return list(
        session.scalars(
            select(WatchlistAssignment)
            .where(WatchlistAssignment.list_id == list_id)
            .order_by(WatchlistAssignment.site_id, WatchlistAssignment.gate_id)
        )
    )


def replace_entries(session: Session, list_id: str, entries: Iterable[WatchlistEntry]) -> int:
    session.execute(delete(WatchlistEntryRow).where(WatchlistEntryRow.list_id == list_id))
    rows = [entry_row(list_id, entry) for entry in entries]
    session.add_all(rows)
    return len(rows)


def touch(session: Session, watchlist: Watchlist, username: str) -> None:
    watchlist.updated_at = datetime.now(UTC)
    watchlist.updated_by = username


def site_timezone(session: Session, site_id: str) -> str:
    site = session.get(Site, site_id)
    return site.timezone if site is not None else DEFAULT_TIMEZONE


def bundle_for_site(session: Session, site_id: str, version: int = 0) -> WatchlistBundle:
    """Every list assigned at `site_id`, restricted to the gates it is assigned to (none: all gates)."""
    gates: dict[str, set[str]] = {}
    for assignment in session.scalars(
        select(WatchlistAssignment).where(WatchlistAssignment.site_id == site_id)
    ):
        gates.setdefault(assignment.list_id, set()).add(assignment.gate_id)
    lists: list[ListModel] = []
    for list_id in sorted(gates):
        watchlist = session.get(Watchlist, list_id)
        if watchlist is None:
            continue
        assigned = gates[list_id]
        lists.append(
            ListModel(
                list_id=list_id,
                name=watchlist.name,
                kind=watchlist.kind,  # type: ignore[arg-type]
                entries=tuple(entry for _, entry in entries_of(session, list_id)),
                gates=() if "" in assigned else tuple(sorted(assigned)),
            )
        )
    return WatchlistBundle(
        version=version, site_id=site_id, timezone=site_timezone(session, site_id), lists=tuple(lists)
    )


def devices_at(session: Session, site_ids: Iterable[str]) -> list[Device]:
    sites = sorted(set(site_ids))
    if not sites:
        return []
    return list(session.scalars(select(Device).where(Device.site_id.in_(sites)).order_by(Device.device_id)))


def sites_of_list(session: Session, list_id: str) -> set[str]:
    return {a.site_id for a in assignments_of(session, list_id)}
