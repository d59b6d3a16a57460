"""Dashboard aggregates: events over time, per-camera read figures, busiest and repeat plates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from central import audit
from central.api.deps import SessionDep, Viewer, client_address
from central.api.params import IdQuery, unprocessable
from central.stats import (
    MAX_ROWS,
    Bucket,
    CameraStats,
    GroupBy,
    PlateStats,
    StatsError,
    TimelinePoint,
    Window,
    cameras,
    plates,
    timeline,
)

router = APIRouter(prefix="/api/v1/stats", tags=["dashboard"])
Since = Annotated[
    datetime | None, Query(description="window start (ISO 8601 with zone); default: until - 1 day")
]
Until = Annotated[
    datetime | None, Query(description="window end, exclusive (ISO 8601 with zone); default: now")
]
Site = IdQuery


def window_or_422(
    since: datetime | None, until: datetime | None, default: timedelta, site: str | None
) -> Window:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise unprocessable(("query", name), f"{name} must carry a time zone", str(value))
    try:
        return Window.checked(since, until, default, site)
    except StatsError as exc:
        raise unprocessable(("query",), str(exc)) from exc


@router.get("/timeline")
def events_timeline(
    _user: Viewer,
    session: SessionDep,
    since: Since = None,
    until: Until = None,
    site: Site = None,
    bucket: Bucket = Bucket.hour,
    group_by: GroupBy = GroupBy.site,
) -> list[TimelinePoint]:
    """Events per UTC hour or day, per site or camera."""
    window = window_or_422(since, until, timedelta(days=1 if bucket is Bucket.hour else 30), site)
    try:
        return timeline(session, window, bucket, group_by)
    except StatsError as exc:
        raise unprocessable(("query",), str(exc)) from exc


@router.get("/cameras")
def camera_stats(
    _user: Viewer,
    session: SessionDep,
    since: Since = None,
    until: Until = None,
    site: Site = None,
) -> list[CameraStats]:
    """Per camera: events, events per hour, mean confidence, share of unsure reads (confidence
    below 0.7) and share that fits a plate format; whole UTC hours."""
    return cameras(session, window_or_422(since, until, timedelta(days=1), site))


@router.get("/plates")
def plate_stats(
    request: Request,
    user: Viewer,
    session: SessionDep,
    since: Since = None,
    until: Until = None,
    site: Site = None,
    min_events: Annotated[
        int, Query(ge=1, le=100_000, description="repeat visits: seen at least this often")
    ] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 20,
) -> list[PlateStats]:
    """Busiest plates in the window; min_events > 1 lists repeat visitors. Audited: it names plates."""
    window = window_or_422(since, until, timedelta(days=1), site)
    try:
        found = plates(session, window, min_events, limit)
    except StatsError as exc:
        raise unprocessable(("query",), str(exc)) from exc
    detail = {"since": window.since.isoformat(), "until": window.until.isoformat(), "min_events": min_events}
    if site is not None:
        detail["site"] = site
    audit.record(
        session, user.username, "plate_stats", {**detail, "results": len(found)}, client_address(request)
    )
    session.commit()
    return found
