"""Builders of valid device messages for central's tests; each test changes only what it checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from common.config import EdgeConfig
from common.config_push import config_hash, redacted
from common.events import ModelVersions, PlateEvent
from common.ids import uuid7
from common.messages import ConfigAck, DeviceStats, DeviceStatus, EffectiveConfig
from common.plates.alphabet import to_latin
from common.plates.reading import PlateReading
from common.topics import device_topic

# A tiny valid JPEG (1x1 grey), enough to check bytes survive the round trip.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912"
    "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001"
    "000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103"
    "03020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f024336272"
    "82090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475"
    "767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
    "cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbfcffd9"
)
BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_event(
    plate: str = "А123ВС77",
    *,
    site: str = "site1",
    device: str = "edge1",
    channel: str = "cam1",
    at: datetime | None = None,
    event_id: uuid.UUID | None = None,
    crop: bytes | None = TINY_JPEG,
    country: str | None = "RU",
    confidence: float = 0.93,
) -> PlateEvent:
    at = at or BASE_TIME
    return PlateEvent(
        event_id=event_id or uuid7(),
        site_id=site,
        device_id=device,
        channel_id=channel,
        captured_at=at,
        first_seen=at - timedelta(seconds=1),
        last_seen=at + timedelta(seconds=1),
        plate=PlateReading(confidence=0.9,
            text=plate, latin=to_latin(plate), country=country, format="standard", region="77", valid=True
        ),
        confidence=confidence,
        box=(100, 200, 220, 240),
        frames=5,
        crop_jpeg=crop,
        models=ModelVersions(detector="det-1", reader="ocr-1"),
    )


def event_message(event: PlateEvent) -> tuple[str, bytes]:
    return device_topic(event.site_id, event.device_id, "events"), event.to_json()


def status_message(
    state: str = "online", *, site: str = "site1", device: str = "edge1", config_version: int | None = 1
) -> tuple[str, bytes]:
    status = DeviceStatus(
        site_id=site,
        device_id=device,
        state=state,  # type: ignore[arg-type]
        reason="connected" if state == "online" else "connection-lost",
        at=BASE_TIME,
        agent_version="0.1.0",
        config_version=config_version,
    )
    return device_topic(site, device, "status"), status.to_json()


def stats_message(*, site: str = "site1", device: str = "edge1", events: int = 7) -> tuple[str, bytes]:
    stats = DeviceStats(
        site_id=site,
        device_id=device,
        at=BASE_TIME,
        uptime_s=60.0,
        frames=1000,
        events=events,
        outbox_pending=0,
        published=events,
        acked=events,
        retries=0,
        reconnects=0,
    )
    return device_topic(site, device, "stats"), stats.to_json()


def effective_message(
    version: int = 3, *, site: str = "site1", device: str = "edge1", **settings: Any
) -> tuple[str, bytes]:
    """The device's report of the config it runs, as edge.sync.config_applier.effective_message makes it."""
    config = EdgeConfig.model_validate(
        {"version": version, "site_id": site, "device_id": device, "mqtt": {"enabled": True}, **settings}
    )
    data = redacted(config)
    report = EffectiveConfig(
        site_id=site, device_id=device, at=BASE_TIME, version=version, hash=config_hash(data), config=data
    )
    return device_topic(site, device, "config/effective"), report.to_json()


def ack_message(
    version: int,
    *,
    accepted: bool = True,
    site: str = "site1",
    device: str = "edge1",
    reason: str | None = None,
    running: int | None = None,
) -> tuple[str, bytes]:
    ack = ConfigAck(
        site_id=site,
        device_id=device,
        version=version,
        accepted=accepted,
        outcome="applied" if accepted else "rejected",
        reason=reason if reason is not None else (None if accepted else "bad config"),
        running_version=running if running is not None else (version if accepted else max(1, version - 1)),
        applied_at=BASE_TIME,
    )
    return device_topic(site, device, "config/ack"), ack.to_json()


def as_dict(event: PlateEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")
