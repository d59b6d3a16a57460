"""Ingest: decoding device messages and writing them, idempotently, in batches."""

from __future__ import annotations

from datetime import UTC, datetime

from central_factories import (
    TINY_JPEG,
    ack_message,
    effective_message,
    event_message,
    make_event,
    stats_message,
    status_message,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central.db.models import Channel, DeadLetter, Device, DeviceConfig, Event, EventImage
from central.ingest.decode import EventRecord, Rejected, decode
from central.ingest.writer import IngestWriter
from common.plates.search import fuzzy_key

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _write(engine: Engine, *messages: tuple[str, bytes]):  # type: ignore[no-untyped-def]
    return IngestWriter(engine).write([decode(topic, payload, NOW) for topic, payload in messages])


def test_event_is_stored_with_search_keys_and_crop(engine: Engine) -> None:
    event = make_event("А123ВС77")
    result = _write(engine, event_message(event))
    assert len(result.stored) == 1 and not result.dead
    with Session(engine) as session:
        row = session.get(Event, event.event_id)
        assert row is not None
        assert (row.plate_text, row.plate_latin, row.plate_norm) == ("А123ВС77", "A123BC77", "A123BC77")
        assert row.plate_skeleton == fuzzy_key("A123BC77") == "4123" + "8C77"  # A folds to 4, B to 8
        assert (row.site_id, row.device_id, row.channel_id, row.country) == ("site1", "edge1", "cam1", "RU")
        image = session.get(EventImage, event.event_id)
        assert image is not None and image.crop_jpeg == TINY_JPEG


def test_redelivered_event_is_stored_once(engine: Engine) -> None:
    event = make_event()
    first = _write(engine, event_message(event), event_message(event))
    second = _write(engine, event_message(event))
    assert len(first.stored) == 1 and first.duplicates == 1
    assert second.stored == [] and second.duplicates == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_every_committed_event_is_named_in_its_devices_receipt(engine: Engine) -> None:
    north = [make_event(f"А{i:03d}ВС77", device="north") for i in range(3)]
    south = make_event("Е456КМ99", device="south")
    first = _write(engine, *map(event_message, [*north, south]))
    again = _write(engine, event_message(north[0]))  # a re-send after a lost receipt
    [to_north, to_south] = first.receipts.messages(NOW)
    assert (to_north.device_id, to_north.stored) == ("north", [e.event_id for e in north])
    assert (to_south.device_id, to_south.stored, to_south.conflicts) == ("south", [south.event_id], [])
    [repeated] = again.receipts.messages(NOW)
    assert repeated.stored == [north[0].event_id] and again.duplicates == 1


def test_a_conflicting_duplicate_is_dead_lettered_and_confirmed(engine: Engine) -> None:
    original = make_event("А123ВС77")
    impostor = make_event("О999ОО99", event_id=original.event_id)  # same id, another plate
    _write(engine, event_message(original))
    result = _write(engine, event_message(impostor))
    assert result.stored == [] and result.duplicates == 0
    assert [d.kind for d in result.dead] == ["conflict"]
    [receipt] = result.receipts.messages(NOW)
    assert (receipt.stored, receipt.conflicts) == ([], [original.event_id])
    another = _write(engine, *map(event_message, [make_event("В1", event_id=impostor.event_id)]))
    assert [d.kind for d in another.dead] == ["conflict"]
    with Session(engine) as session:
        assert session.get(Event, original.event_id).plate_text == "А123ВС77"  # the first one stays
        letters = session.scalars(select(DeadLetter).where(DeadLetter.kind == "conflict")).all()
        assert len(letters) == 2 and "plate_text" in letters[0].reason
        assert letters[0].payload == impostor.to_json()


def test_a_resend_with_a_capture_time_in_another_month_is_a_conflict_not_a_second_row(engine: Engine) -> None:
    # On PostgreSQL the two times fall in different partitions: the id registry still sees the id.
    original = make_event("А123ВС77", at=datetime(2026, 11, 20, tzinfo=UTC))
    moved = make_event("А123ВС77", event_id=original.event_id, at=datetime(2026, 9, 3, tzinfo=UTC))
    _write(engine, event_message(original))
    result = _write(engine, event_message(moved))
    assert result.stored == [] and [d.kind for d in result.dead] == ["conflict"]
    assert "captured_at" in result.dead[0].reason
    with Session(engine) as session:
        rows = session.scalars(select(Event).where(Event.event_id == original.event_id)).all()
        assert [row.captured_at.replace(tzinfo=UTC) for row in rows] == [original.captured_at]


def test_a_conflict_inside_one_batch_keeps_the_first_copy(engine: Engine) -> None:
    first = make_event("А123ВС77")
    second = make_event("М555ММ50", event_id=first.event_id)
    result = _write(engine, event_message(first), event_message(second))
    assert len(result.stored) == 1 and [d.kind for d in result.dead] == ["conflict"]
    [receipt] = result.receipts.messages(NOW)
    assert (receipt.stored, receipt.conflicts) == ([first.event_id], [first.event_id])


def test_topic_must_match_payload_ids(engine: Engine) -> None:
    event = make_event(site="site1", device="edge1")
    result = _write(engine, ("anpr/v1/site1/edge2/events", event.to_json()))
    assert [d.kind for d in result.dead] == ["topic_mismatch"]
    with Session(engine) as session:
        letter = session.scalars(select(DeadLetter)).one()
        assert letter.kind == "topic_mismatch" and "edge2" in letter.reason
        assert letter.payload == event.to_json()
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_bad_messages_are_rejected_with_a_reason() -> None:
    good_topic, good = event_message(make_event())
    cases = {
        "bad_topic": ("something/else", good),
        "bad_json": (good_topic, b"{not json"),
        "invalid": (good_topic, b'{"schema_version": 1}'),
    }
    for kind, (topic, payload) in cases.items():
        decoded = decode(topic, payload, NOW)
        assert isinstance(decoded, Rejected) and decoded.kind == kind, (kind, decoded)
        assert decoded.reason
    nul = decode(good_topic, good.replace(b"site1", b"site1\\u0000", 1), NOW)
    assert isinstance(nul, Rejected) and "NUL" in nul.reason
    long_region = make_event().model_dump(mode="json")
    long_region["plate"]["region"] = "x" * 500
    import json

    decoded = decode(good_topic, json.dumps(long_region).encode(), NOW)
    assert isinstance(decoded, Rejected) and "region" in decoded.reason


def test_good_messages_in_a_batch_survive_a_bad_one(engine: Engine) -> None:
    events = [make_event(f"A{i:03d}BC77") for i in range(5)]
    messages = [event_message(e) for e in events]
    messages.insert(2, ("anpr/v1/site1/edge1/events", b"\xff\xfe garbage"))
    result = _write(engine, *messages)
    assert len(result.stored) == 5 and len(result.dead) == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 5
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 1


def test_devices_and_channels_follow_the_messages(engine: Engine) -> None:
    early = make_event(channel="gate-in", at=datetime(2026, 11, 1, 10, tzinfo=UTC))
    late = make_event(channel="gate-out", at=datetime(2026, 11, 1, 11, tzinfo=UTC))
    _write(engine, event_message(late), status_message("online"), stats_message(events=7))
    _write(engine, event_message(early))
    with Session(engine) as session:
        device = session.get(Device, "edge1")
        assert device is not None
        assert device.site_id == "site1" and device.status == "online" and device.config_version == 1
        assert device.stats is not None and device.stats["events"] == 7
        assert (
            device.last_event_at is not None and device.last_event_at.replace(tzinfo=UTC) == late.captured_at
        )
        channels = {c.channel_id for c in session.scalars(select(Channel))}
        assert channels == {"gate-in", "gate-out"}
    _write(engine, status_message("offline"))
    with Session(engine) as session:
        device = session.get(Device, "edge1")
        assert device is not None and device.status == "offline"


def test_config_ack_is_recorded_on_its_version(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(Device(device_id="edge1", site_id="site1"))
        session.add(DeviceConfig(device_id="edge1", version=2, patch={}, issued_at=NOW, issued_by="admin"))
    result = _write(engine, ack_message(2, accepted=True), ack_message(9, accepted=True))
    assert result.applied == 1 and [d.kind for d in result.dead] == ["unknown_config"]
    with Session(engine) as session:
        config = session.get(DeviceConfig, ("edge1", 2))
        assert config is not None and config.ack_accepted is True and config.ack_outcome == "applied"
        device = session.get(Device, "edge1")
        assert device is not None and device.config_version == 2


def test_decoded_event_row_keeps_utc_times() -> None:
    event = make_event()
    decoded = decode(*event_message(event), NOW)
    assert isinstance(decoded, EventRecord)
    assert decoded.row["captured_at"] == event.captured_at and decoded.row["captured_at"].tzinfo is not None


def test_a_devices_config_report_is_stored_on_its_row(engine: Engine) -> None:
    result = _write(engine, effective_message(7, tracking={"min_reads": 4}))
    assert result.applied == 1 and not result.dead
    with Session(engine) as session:
        device = session.get(Device, "edge1")
        assert device is not None and device.effective_config is not None
        assert (device.effective_config_version, device.config_version) == (7, 7)
        assert device.effective_config["tracking"]["min_reads"] == 4
        assert len(device.effective_config_hash or "") == 64
