"""Turning a PlateEvent into sealed rows and back.

The event's JSON without its images is sealed as one value (plate text, Latin form, region and
the rest of the event); each image is sealed on its own so the quota can drop images and keep
events. Every sealed value is bound to its event id and column by the associated data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from common.crypto import DecryptionError, StoreKeys, associated_data
from common.events import PlateEvent
from edge.store.errors import StoreCorruptError

ImageKind = Literal["crop", "thumbnail"]
IMAGE_KINDS: tuple[ImageKind, ...] = ("crop", "thumbnail")
EVENT_COLUMN = "sealed_event"
_IMAGE_FIELDS: dict[ImageKind, str] = {"crop": "crop_jpeg", "thumbnail": "thumbnail_jpeg"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch; exact, unlike timestamp() * 1e6."""
    if moment.tzinfo is None:
        raise ValueError(f"time {moment.isoformat()} has no timezone; give UTC times")
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class SealedImage:
    kind: ImageKind
    size: int
    sealed: bytes


@dataclass(frozen=True)
class SealedEvent:
    event_id: str
    channel_id: str
    captured_at: int
    confidence: float
    country: str | None
    format: str | None
    plate_index: bytes
    sealed_event: bytes
    images: tuple[SealedImage, ...]


class EventCodec:
    def __init__(self, keys: StoreKeys) -> None:
        self._keys = keys

    def plate_index(self, plate: str) -> bytes:
        return self._keys.index.of(plate)

    def seal(self, event: PlateEvent, keep_thumbnail: bool = True) -> SealedEvent:
        body = event.model_dump_json(exclude={"crop_jpeg", "thumbnail_jpeg"}).encode("utf-8")
        images: list[SealedImage] = []
        for kind in IMAGE_KINDS:
            data: bytes | None = getattr(event, _IMAGE_FIELDS[kind])
            if data is None or (kind == "thumbnail" and not keep_thumbnail):
                continue
            images.append(
                SealedImage(
                    kind, len(data), self._keys.cipher.seal(data, associated_data(event.event_id, kind))
                )
            )
        return SealedEvent(
            event_id=str(event.event_id),
            channel_id=event.channel_id,
            captured_at=to_micros(event.captured_at),
            confidence=event.confidence,
            country=event.plate.country,
            format=event.plate.format,
            plate_index=self.plate_index(event.plate.text),
            sealed_event=self._keys.cipher.seal(body, associated_data(event.event_id, EVENT_COLUMN)),
            images=tuple(images),
        )

    def open(self, event_id: str, sealed_event: bytes, images: dict[str, bytes]) -> PlateEvent:
        """Decrypt one stored event; images maps kind to sealed bytes (missing kinds were dropped)."""
        uid = uuid.UUID(event_id)
        try:
            body = self._keys.cipher.open(sealed_event, associated_data(uid, EVENT_COLUMN))
            opened = {
                _IMAGE_FIELDS[kind]: self._keys.cipher.open(sealed, associated_data(uid, kind))
                for kind, sealed in images.items()
                if kind in _IMAGE_FIELDS
            }
        except DecryptionError as exc:
            raise StoreCorruptError(
                f"event {event_id}: stored data failed authentication; the database was modified "
                "outside the store (or rows were swapped)"
            ) from exc
        event = PlateEvent.model_validate_json(body)
        if event.event_id != uid:
            raise StoreCorruptError(f"event {event_id}: the sealed body belongs to event {event.event_id}")
        return event.model_copy(update=opened) if opened else event
