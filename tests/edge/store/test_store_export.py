"""Exporting events for the CLI: decrypted locally, as JSON Lines or CSV, oldest first."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from common.events import PlateEvent
from edge.store import EventStore
from edge.store.export import CSV_COLUMNS, export_events


@pytest.fixture
def stored(store: EventStore, event, jpeg, t0) -> list[PlateEvent]:
    events = [
        event(text=text, captured_at=t0 + timedelta(minutes=i), crop=jpeg(700, seed=i))
        for i, text in enumerate(["А123ВС77", "Х001ХХ99", "М555ММ50", "О777ОО177"])
    ]
    for e in reversed(events):  # stored out of order: export sorts by capture time
        store.add(e)
    return events


def test_jsonl_export_writes_one_event_per_line_without_images(store: EventStore, stored) -> None:
    out = io.StringIO()
    assert export_events(store, out) == 4
    lines = out.getvalue().splitlines()
    exported = [PlateEvent.from_json(line) for line in lines]
    assert exported == [e.model_copy(update={"crop_jpeg": None}) for e in stored]
    assert "crop_jpeg" not in json.loads(lines[0])


def test_jsonl_export_can_include_images(store: EventStore, stored) -> None:
    out = io.StringIO()
    export_events(store, out, include_images=True)
    assert [PlateEvent.from_json(line) for line in out.getvalue().splitlines()] == stored


def test_export_limits_to_the_time_window(store: EventStore, stored, t0) -> None:
    out = io.StringIO()
    count = export_events(store, out, since=t0 + timedelta(minutes=1), until=t0 + timedelta(minutes=3))
    assert count == 2
    assert [PlateEvent.from_json(line).event_id for line in out.getvalue().splitlines()] == [
        stored[1].event_id,
        stored[2].event_id,
    ]


def test_export_pages_through_more_events_than_one_batch(store: EventStore, event, t0) -> None:
    events = [event(captured_at=t0 + timedelta(seconds=i // 3)) for i in range(450)]  # ties on time too
    for e in events:
        store.add(e)
    out = io.StringIO()
    assert export_events(store, out) == 450
    exported = [PlateEvent.from_json(line).event_id for line in out.getvalue().splitlines()]
    assert sorted(exported) == sorted(e.event_id for e in events)
    assert len(set(exported)) == 450


def test_csv_export_has_a_header_and_readable_plates(store: EventStore, stored) -> None:
    out = io.StringIO()
    assert export_events(store, out, fmt="csv") == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["plate_text"] for row in rows] == ["А123ВС77", "Х001ХХ99", "М555ММ50", "О777ОО177"]
    assert rows[0]["plate_latin"] == "A123BC77"
    assert rows[0]["region"] == "Москва"
    assert rows[0]["has_crop"] == "true" and rows[0]["has_thumbnail"] == "false"
    assert rows[0]["event_id"] == str(stored[0].event_id)


def test_bad_export_requests_are_refused(store: EventStore) -> None:
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        export_events(store, io.StringIO(), fmt="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON Lines"):
        export_events(store, io.StringIO(), fmt="csv", include_images=True)
