"""The plate event: one vehicle passage seen by one camera, as stored on the edge and sent to central.

This model is the contract between edge, MQTT subscribers (gate controllers, alerting) and
central; its JSON form is versioned by `schema_version`.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from common.ids import uuid7
from common.plates.reading import PlateReading

EVENT_SCHEMA_VERSION = 1
MAX_PLATE_CHARS = 16

# JPEG bytes travel as base64 in JSON; in Python they stay bytes.
Base64Bytes = Annotated[
    bytes,
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
]


def _decode_base64(value: object) -> object:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ValueError("image must be base64-encoded JPEG") from exc
    return value


def utc_now() -> datetime:
    return datetime.now(UTC)


class ModelVersions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: str
    reader: str


class PlateEvent(BaseModel):
    """One vehicle passage on one channel: the best reading of its track."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    event_id: uuid.UUID = Field(default_factory=uuid7, description="UUIDv7, time-ordered")
    site_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    device_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    channel_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    captured_at: datetime = Field(description="UTC time of the best frame")
    first_seen: datetime
    last_seen: datetime
    plate: PlateReading
    confidence: float = Field(ge=0.0, le=1.0)
    box: tuple[int, int, int, int] = Field(description="x1, y1, x2, y2 in frame pixels")
    frames: int = Field(ge=1, description="frames in which the track was read")
    crop_jpeg: Base64Bytes | None = None
    thumbnail_jpeg: Base64Bytes | None = None
    models: ModelVersions

    @model_validator(mode="before")
    @classmethod
    def _plate_confidence_from_the_event(cls, data: object) -> object:
        """Events written before the plate carried its own confidence: it is the event's."""
        plate = data.get("plate") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(plate, dict) and "confidence" not in plate:
            return data | {"plate": plate | {"confidence": data.get("confidence")}}
        return data

    @field_validator("plate")
    @classmethod
    def _plate_has_text(cls, plate: PlateReading) -> PlateReading:
        for name in ("text", "latin"):
            if not 1 <= len(getattr(plate, name)) <= MAX_PLATE_CHARS:
                raise ValueError(f"plate {name} must have 1 to {MAX_PLATE_CHARS} characters")
        return plate

    @field_validator("captured_at", "first_seen", "last_seen")
    @classmethod
    def _must_be_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a timezone (UTC)")
        return value.astimezone(UTC)

    @field_validator("crop_jpeg", "thumbnail_jpeg", mode="before")
    @classmethod
    def _images_from_base64(cls, value: object) -> object:
        return _decode_base64(value)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_json(cls, payload: bytes | str) -> PlateEvent:
        return cls.model_validate_json(payload)
