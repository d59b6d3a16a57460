"""Turn one MQTT message into a typed record for the writer, or a rejection with a reason.

Pure: no database, no broker. Everything a device can send that the database would refuse
(NUL characters, over-long strings, out-of-range integers, ids that contradict the topic) is
caught here, so a batch insert does not fail on one bad message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from common.events import PlateEvent
from common.gates import GateDecision
from common.messages import (
    ConfigAck,
    DeviceStats,
    DeviceStatus,
    EffectiveConfig,
    MessageError,
    WatchlistAck,
    decode_message,
)
from common.plates.search import fuzzy_key, stored_plate_key
from common.topics import parse_device_topic

MAX_EVENT_BYTES = 4 * 1024 * 1024
MAX_DEAD_LETTER_PAYLOAD = 64 * 1024
INT32_MAX = 2**31 - 1
# Column widths of central.db.models.Event for the free-text fields PlateEvent does not bound.
TEXT_LIMITS = {"country": 8, "plate_format": 64, "region": 128, "detector_model": 128, "reader_model": 128}


@dataclass(frozen=True)
class CaptureWindow:
    """The capture times central believes: a device with a dead clock battery sends year 1970 or
    2099, and a time far ahead would top every newest-first search until that date."""

    not_before: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_ahead: timedelta = timedelta(days=1)  # of the time central received the event

    def problem(self, event: PlateEvent, received_at: datetime) -> str | None:
        latest = received_at + self.max_ahead
        for name in ("captured_at", "first_seen", "last_seen"):
            value: datetime = getattr(event, name)
            if value < self.not_before:
                return f"{name} {value.isoformat()} is before {self.not_before.isoformat()}"
            if value > latest:
                return (
                    f"{name} {value.isoformat()} is more than {self.max_ahead} after receipt "
                    f"({received_at.isoformat()}): is the device's clock wrong?"
                )
        return None


DEFAULT_CAPTURE_WINDOW = CaptureWindow()


@dataclass(frozen=True)
class EventRecord:
    row: dict[str, Any]
    crop_jpeg: bytes | None
    thumbnail_jpeg: bytes | None
    payload: bytes = b""  # the message as received, for the dead letter of a conflicting duplicate


@dataclass(frozen=True)
class StatusRecord:
    status: DeviceStatus


@dataclass(frozen=True)
class AckRecord:
    ack: ConfigAck


@dataclass(frozen=True)
class StatsRecord:
    stats: DeviceStats


@dataclass(frozen=True)
class EffectiveRecord:
    effective: EffectiveConfig


@dataclass(frozen=True)
class WatchlistAckRecord:
    ack: WatchlistAck


@dataclass(frozen=True)
class DecisionRecord:
    """A gate decision: its row, and the message itself for the alert senders."""

    row: dict[str, Any]
    decision: GateDecision


@dataclass(frozen=True)
class Rejected:
    """A message that goes to the dead-letter table. `kind` is a small fixed set (the metric label)."""

    topic: str
    kind: str
    reason: str
    payload: bytes


Decoded = (
    EventRecord
    | StatusRecord
    | AckRecord
    | StatsRecord
    | EffectiveRecord
    | WatchlistAckRecord
    | DecisionRecord
    | Rejected
)


class _Reject(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _validation_reason(exc: ValidationError) -> tuple[str, str]:
    errors = exc.errors()
    kind = "bad_json" if any(err["type"] == "json_invalid" for err in errors) else "invalid"
    text = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in errors[:10]
    )
    return kind, text


def _check_ids(topic_site: str, topic_device: str, site_id: str, device_id: str) -> None:
    if (site_id, device_id) != (topic_site, topic_device):
        raise _Reject(
            "topic_mismatch",
            f"payload says {site_id}/{device_id} but the topic is {topic_site}/{topic_device}",
        )


def _event_row(event: PlateEvent, received_at: datetime) -> dict[str, Any]:
    plate = event.plate
    norm = stored_plate_key(plate.text)
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "site_id": event.site_id,
        "device_id": event.device_id,
        "channel_id": event.channel_id,
        "captured_at": event.captured_at,
        "first_seen": event.first_seen,
        "last_seen": event.last_seen,
        "received_at": received_at,
        "plate_text": plate.text,
        "plate_latin": plate.latin,
        "plate_norm": norm,
        "plate_skeleton": fuzzy_key(plate.text),
        "country": plate.country,
        "plate_format": plate.format,
        "region": plate.region,
        "plate_valid": plate.valid,
        "confidence": event.confidence,
        "box_x1": event.box[0],
        "box_y1": event.box[1],
        "box_x2": event.box[2],
        "box_y2": event.box[3],
        "frames": event.frames,
        "detector_model": event.models.detector,
        "reader_model": event.models.reader,
        "has_crop": event.crop_jpeg is not None,
    }
    if not norm:
        raise _Reject("invalid", f"plate text {plate.text!r} has no characters to search by")
    for field, limit in TEXT_LIMITS.items():
        value = row[field]
        if value is not None and len(value) > limit:
            raise _Reject("invalid", f"{field} is longer than {limit} characters")
    for field in ("box_x1", "box_y1", "box_x2", "box_y2", "frames"):
        if not -INT32_MAX <= row[field] <= INT32_MAX:
            raise _Reject("invalid", f"{field} {row[field]} is out of range")
    return row


def _decision_row(decision: GateDecision, received_at: datetime) -> dict[str, Any]:
    plate = decision.plate
    norm = stored_plate_key(plate.text) if plate is not None else None
    if plate is not None and (not norm or len(plate.text) > 32 or len(plate.latin) > 32):
        raise _Reject("invalid", f"decision plate {plate.text!r} cannot be stored")
    return {
        "decision_id": decision.decision_id,
        "site_id": decision.site_id,
        "device_id": decision.device_id,
        "gate_id": decision.gate_id,
        "channel_id": decision.channel_id,
        "captured_at": decision.captured_at,
        "decided_at": decision.decided_at,
        "received_at": received_at,
        "plate_text": plate.text if plate is not None else None,
        "plate_latin": plate.latin if plate is not None else None,
        "plate_norm": norm,
        "confidence": plate.confidence if plate is not None else None,
        "requested_by": decision.requested_by,
        "action": decision.action,
        "rule": decision.rule,
        "alert": decision.alert,
        "outputs_ok": decision.outputs_ok,
        "latency_ms": decision.latency_ms,
        "watchlist_version": decision.watchlist_version,
        "matches": [m.model_dump(mode="json") for m in decision.matches],
        "outputs": [o.model_dump(mode="json") for o in decision.outputs],
        "crop_jpeg": decision.crop_jpeg,
    }


def _decode(topic: str, payload: bytes, received_at: datetime, window: CaptureWindow) -> Decoded:
    try:
        where = parse_device_topic(topic)
    except ValueError as exc:
        raise _Reject("bad_topic", str(exc)) from exc
    if len(payload) > MAX_EVENT_BYTES:
        raise _Reject("too_large", f"payload of {len(payload)} bytes exceeds {MAX_EVENT_BYTES}")
    # PostgreSQL text cannot hold NUL; no valid message has one, escaped or raw.
    if b"\x00" in payload or b"\\u0000" in payload:
        raise _Reject("invalid", "payload contains NUL characters")
    try:
        if where.kind == "events":
            event = PlateEvent.from_json(payload)
            _check_ids(where.site_id, where.device_id, event.site_id, event.device_id)
            if (problem := window.problem(event, received_at)) is not None:
                raise _Reject("bad_time", problem)
            return EventRecord(_event_row(event, received_at), event.crop_jpeg, event.thumbnail_jpeg, payload)
        if where.kind == "status":
            status = decode_message(DeviceStatus, payload)
            _check_ids(where.site_id, where.device_id, status.site_id, status.device_id)
            return StatusRecord(status)
        if where.kind == "config/ack":
            ack = decode_message(ConfigAck, payload)
            _check_ids(where.site_id, where.device_id, ack.site_id, ack.device_id)
            return AckRecord(ack)
        if where.kind == "config/effective":
            effective = decode_message(EffectiveConfig, payload)
            _check_ids(where.site_id, where.device_id, effective.site_id, effective.device_id)
            return EffectiveRecord(effective)
        if where.kind == "stats":
            stats = decode_message(DeviceStats, payload)
            _check_ids(where.site_id, where.device_id, stats.site_id, stats.device_id)
            return StatsRecord(stats)
        if where.kind == "decisions":
            decision = GateDecision.model_validate_json(payload)
            _check_ids(where.site_id, where.device_id, decision.site_id, decision.device_id)
            return DecisionRecord(_decision_row(decision, received_at), decision)
        if where.kind == "watchlists/ack":
            watchlist_ack = decode_message(WatchlistAck, payload)
            _check_ids(where.site_id, where.device_id, watchlist_ack.site_id, watchlist_ack.device_id)
            return WatchlistAckRecord(watchlist_ack)
    except ValidationError as exc:
        raise _Reject(*_validation_reason(exc)) from exc
    except MessageError as exc:
        cause = exc.__cause__
        kind = _validation_reason(cause)[0] if isinstance(cause, ValidationError) else "invalid"
        raise _Reject(kind, str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise _Reject("bad_json", f"payload is not UTF-8: {exc.reason}") from exc
    raise _Reject("bad_topic", f"central does not consume {where.kind!r} messages")


def decode(
    topic: str, payload: bytes, received_at: datetime, window: CaptureWindow = DEFAULT_CAPTURE_WINDOW
) -> Decoded:
    """Decode one message; never raises for bad input, returns Rejected instead."""
    try:
        return _decode(topic, payload, received_at, window)
    except _Reject as exc:
        return reject(topic, exc.kind, exc.reason, payload)


def reject(topic: str, kind: str, reason: str, payload: bytes) -> Rejected:
    clean_topic = topic.replace("\x00", "\\x00")[:1024]
    clean_reason = reason.replace("\x00", "\\x00")
    if len(payload) > MAX_DEAD_LETTER_PAYLOAD:
        clean_reason += f" (payload truncated from {len(payload)} bytes)"
        payload = payload[:MAX_DEAD_LETTER_PAYLOAD]
    return Rejected(clean_topic, kind, clean_reason, payload)
