"""The summary of one stored event: a row of a search page and a message of the live feed.

Below both the HTTP API (central.api) and the live hub (central.live), so neither imports the other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from central.db.models import Event
from central.search import as_utc


class EventSummary(BaseModel):
    event_id: uuid.UUID
    site_id: str
    device_id: str
    channel_id: str
    captured_at: datetime
    plate_text: str
    plate_latin: str
    plate_norm: str
    country: str | None
    region: str | None
    confidence: float
    has_crop: bool
    crop_url: str | None

    @classmethod
    def from_row(cls, row: Event | dict[str, Any]) -> EventSummary:
        get = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
        event_id = get("event_id")
        return cls(
            event_id=event_id,
            site_id=get("site_id"),
            device_id=get("device_id"),
            channel_id=get("channel_id"),
            captured_at=as_utc(get("captured_at")),
            plate_text=get("plate_text"),
            plate_latin=get("plate_latin"),
            plate_norm=get("plate_norm"),
            country=get("country"),
            region=get("region"),
            confidence=get("confidence"),
            has_crop=get("has_crop"),
            crop_url=f"/api/v1/events/{event_id}/crop.jpg" if get("has_crop") else None,
        )
