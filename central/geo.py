"""Sites and cameras as GeoJSON (RFC 7946) with their event counts, for a GIS to draw.

A camera's coordinates are the `lat`/`lon` of its entry in the effective config its device last
reported (common.config.CameraConfig; set them with a config push, or in the device's own file); a
camera without them is a feature with a null geometry.
A site is a MultiPoint of its located cameras. Counts cover whole UTC hours (central.stats).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models import Channel, Device, EventHourly
from central.stats import Window


def _camera_coordinates(session: Session) -> dict[tuple[str, str], tuple[float, float]]:
    out: dict[tuple[str, str], tuple[float, float]] = {}
    reports = session.execute(
        select(Device.device_id, Device.effective_config).where(Device.effective_config.is_not(None))
    )
    for device_id, config in reports:
        for camera in config.get("cameras") or []:
            lat, lon = camera.get("lat"), camera.get("lon")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                out[(device_id, str(camera.get("id")))] = (float(lat), float(lon))
    return out


def feature_collection(session: Session, window: Window) -> dict[str, Any]:
    per_camera = select(
        EventHourly.device_id, EventHourly.channel_id, func.sum(EventHourly.events).label("n")
    )
    counts = {
        (row.device_id, row.channel_id): int(row.n)
        for row in session.execute(
            window.where_hours(per_camera).group_by(EventHourly.device_id, EventHourly.channel_id)
        )
    }
    where = _camera_coordinates(session)
    statement = select(Device.site_id, Channel.device_id, Channel.channel_id).join(
        Device, Device.device_id == Channel.device_id
    )
    if window.site_id is not None:
        statement = statement.where(Device.site_id == window.site_id)
    cameras: list[dict[str, Any]] = []
    sites: dict[str, dict[str, Any]] = {}
    for site_id, device_id, channel_id in session.execute(
        statement.order_by(Device.site_id, Channel.device_id)
    ):
        point = where.get((device_id, channel_id))
        events = counts.get((device_id, channel_id), 0)
        cameras.append(
            {
                "type": "Feature",
                "id": f"{device_id}/{channel_id}",
                # GeoJSON positions are [longitude, latitude].
                "geometry": None if point is None else {"type": "Point", "coordinates": [point[1], point[0]]},
                "properties": {
                    "kind": "camera",
                    "site_id": site_id,
                    "device_id": device_id,
                    "channel_id": channel_id,
                    "events": events,
                },
            }
        )
        site = sites.setdefault(site_id, {"points": [], "events": 0, "cameras": 0})
        site["events"] += events
        site["cameras"] += 1
        if point is not None:
            site["points"].append([point[1], point[0]])
    site_features = [
        {
            "type": "Feature",
            "id": site_id,
            "geometry": {"type": "MultiPoint", "coordinates": site["points"]} if site["points"] else None,
            "properties": {
                "kind": "site",
                "site_id": site_id,
                "events": site["events"],
                "cameras": site["cameras"],
            },
        }
        for site_id, site in sites.items()
    ]
    return {
        "type": "FeatureCollection",
        "features": site_features + cameras,
        "properties": {"since": window.since.isoformat(), "until": window.until.isoformat()},
    }
