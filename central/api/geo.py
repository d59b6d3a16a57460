"""GIS export: sites and cameras as GeoJSON with event counts in a window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from central.api.deps import SessionDep, Viewer
from central.api.stats import Since, Site, Until, window_or_422
from central.geo import feature_collection

router = APIRouter(prefix="/api/v1/geo", tags=["gis"])


@router.get(
    "/cameras.geojson",
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def cameras_geojson(
    _user: Viewer, session: SessionDep, since: Since = None, until: Until = None, site: Site = None
) -> JSONResponse:
    """Sites (MultiPoint of their cameras) and cameras (Point, or null when not located), with
    events in the window (default: the last 30 days)."""
    body: dict[str, Any] = feature_collection(session, window_or_422(since, until, timedelta(days=30), site))
    return JSONResponse(body, media_type="application/geo+json")
