"""Exporting stored events, decrypted locally, for the `anpr-edge events export` command.

JSON Lines gives one PlateEvent JSON per line (the same form as the MQTT payload, images
optional); CSV gives one flat row per event for spreadsheets. Either is plain text with plates in
the clear: the output is as sensitive as the store itself.
"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import Literal, TextIO

from common.events import PlateEvent
from edge.store.store import EventStore

ExportFormat = Literal["jsonl", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv")

CSV_COLUMNS = (
    "event_id",
    "captured_at",
    "site_id",
    "device_id",
    "channel_id",
    "plate_text",
    "plate_latin",
    "country",
    "format",
    "region",
    "valid",
    "confidence",
    "frames",
    "first_seen",
    "last_seen",
    "box",
    "detector",
    "reader",
    "has_crop",
    "has_thumbnail",
)


def _csv_row(event: PlateEvent) -> list[str]:
    plate = event.plate
    return [
        str(event.event_id),
        event.captured_at.isoformat(),
        event.site_id,
        event.device_id,
        event.channel_id,
        plate.text,
        plate.latin,
        plate.country or "",
        plate.format or "",
        plate.region or "",
        "true" if plate.valid else "false",
        f"{event.confidence:.4f}",
        str(event.frames),
        event.first_seen.isoformat(),
        event.last_seen.isoformat(),
        " ".join(str(v) for v in event.box),
        event.models.detector,
        event.models.reader,
        "true" if event.crop_jpeg is not None else "false",
        "true" if event.thumbnail_jpeg is not None else "false",
    ]


def export_events(
    store: EventStore,
    out: TextIO,
    fmt: ExportFormat = "jsonl",
    since: datetime | None = None,
    until: datetime | None = None,
    include_images: bool = False,
) -> int:
    """Write the events captured in [since, until), oldest first, to `out`; returns how many.

    Images (base64 JPEG) are written only to JSON Lines and only with include_images.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    if include_images and fmt != "jsonl":
        raise ValueError("images can only be exported as JSON Lines")
    written = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    for event in store.iter_events(since, until):
        if writer is not None:
            writer.writerow(_csv_row(event))
        else:
            exclude = None if include_images else {"crop_jpeg", "thumbnail_jpeg"}
            out.write(event.model_dump_json(exclude=exclude))
            out.write("\n")
        written += 1
    return written
