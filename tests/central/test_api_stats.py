"""Dashboard aggregates, result counts and the camera pick-list, over HTTP on each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central_app import login
from central_factories import event_message, make_event, status_message
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.models import AuditEntry
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
WINDOW = {"since": T0.isoformat(), "until": (T0 + timedelta(days=2)).isoformat()}


def _load(engine: Engine) -> None:
    events = [
        # north/gate1/cam1: three reads of one plate in hour 08, one unsure read in hour 09.
        make_event("А123ВС77", site="north", device="gate1", channel="cam1", at=T0 + timedelta(minutes=1)),
        make_event("A123BC77", site="north", device="gate1", channel="cam1", at=T0 + timedelta(minutes=2)),
        make_event("А123ВС77", site="north", device="gate1", channel="cam2", at=T0 + timedelta(minutes=3)),
        make_event(
            "О777ОО99",
            site="north",
            device="gate1",
            channel="cam1",
            at=T0 + timedelta(minutes=65),
            confidence=0.5,
        ),
        # south/yard1/cam1: the same plate the next day, and another plate.
        make_event("А123ВС77", site="south", device="yard1", channel="cam1", at=T0 + timedelta(days=1)),
        make_event(
            "В001ВВ01", site="south", device="yard1", channel="cam1", at=T0 + timedelta(days=1, hours=1)
        ),
        # Outside the window.
        make_event("А123ВС77", site="north", device="gate1", channel="cam1", at=T0 - timedelta(minutes=1)),
    ]
    messages = [status_message(site="north", device="gate1"), status_message(site="south", device="yard1")]
    messages += [event_message(e) for e in events]
    # Received after the last capture: central refuses capture times a day past their arrival.
    IngestWriter(engine).write([decode(*m, T0 + timedelta(days=2)) for m in messages])


def test_timeline_per_site_hour_and_day(api: TestClient, engine: Engine) -> None:
    _load(engine)
    headers = login(api, "viewer")
    hourly = api.get("/api/v1/stats/timeline", params={**WINDOW, "bucket": "hour"}, headers=headers)
    assert hourly.status_code == 200, hourly.text
    points = [(p["start"][:13], p["site_id"], p["events"]) for p in hourly.json()]
    assert points == [
        ("2026-11-01T08", "north", 3),
        ("2026-11-01T09", "north", 1),
        ("2026-11-02T08", "south", 1),
        ("2026-11-02T09", "south", 1),
    ]
    daily = api.get(
        "/api/v1/stats/timeline", params={**WINDOW, "bucket": "day", "group_by": "total"}, headers=headers
    ).json()
    assert [(p["start"][:10], p["site_id"], p["events"]) for p in daily] == [
        ("2026-11-01", None, 4),
        ("2026-11-02", None, 2),
    ]
    cameras = api.get(
        "/api/v1/stats/timeline", params={**WINDOW, "group_by": "camera", "site": "north"}, headers=headers
    ).json()
    assert {(p["channel_id"], p["events"]) for p in cameras} == {("cam1", 2), ("cam2", 1), ("cam1", 1)}


def test_camera_read_figures(api: TestClient, engine: Engine) -> None:
    _load(engine)
    rows = api.get("/api/v1/stats/cameras", params=WINDOW, headers=login(api, "viewer")).json()
    by_camera = {(r["device_id"], r["channel_id"]): r for r in rows}
    assert set(by_camera) == {("gate1", "cam1"), ("gate1", "cam2"), ("yard1", "cam1")}
    gate = by_camera[("gate1", "cam1")]
    assert gate["events"] == 3 and gate["site_id"] == "north"
    assert abs(gate["mean_confidence"] - (0.93 * 2 + 0.5) / 3) < 1e-6
    assert abs(gate["low_confidence_share"] - 1 / 3) < 1e-6 and gate["valid_share"] == 1.0
    assert abs(gate["events_per_hour"] - 3 / 48) < 1e-9
    assert gate["last_event_at"].startswith("2026-11-01T09:05:00")


def test_busiest_and_repeat_plates_are_audited(api: TestClient, engine: Engine) -> None:
    _load(engine)
    headers = login(api, "viewer")
    busiest = api.get("/api/v1/stats/plates", params=WINDOW, headers=headers).json()
    assert [(p["plate_norm"], p["events"]) for p in busiest][:1] == [("A123BC77", 4)]
    top = busiest[0]
    assert top["sites"] == 2 and top["cameras"] == 3
    assert top["first_seen"].startswith("2026-11-01T08:01") and top["last_seen"].startswith(
        "2026-11-02T08:00"
    )
    repeat = api.get("/api/v1/stats/plates", params={**WINDOW, "min_events": 2}, headers=headers).json()
    assert [p["plate_norm"] for p in repeat] == ["A123BC77"]
    with Session(engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action == "plate_stats")))
    assert len(actions) == 2


def test_bad_windows_are_refused(api: TestClient) -> None:
    headers = login(api, "viewer")
    swapped = {"since": WINDOW["until"], "until": WINDOW["since"]}
    assert api.get("/api/v1/stats/cameras", params=swapped, headers=headers).status_code == 422
    month = {"since": T0.isoformat(), "until": (T0 + timedelta(days=40)).isoformat(), "bucket": "hour"}
    response = api.get("/api/v1/stats/timeline", params=month, headers=headers)
    assert response.status_code == 422 and "day" in response.json()["detail"][0]["msg"]
    naive = {"since": "2026-11-01T08:00:00"}
    assert api.get("/api/v1/stats/plates", params=naive, headers=headers).status_code == 422
    assert api.get("/api/v1/stats/plates").status_code == 401


def test_result_count_and_camera_pick_list(api: TestClient, engine: Engine) -> None:
    _load(engine)
    headers = login(api, "viewer")
    page = api.get(
        "/api/v1/events", params={"plate": "A123BC77", "limit": 2, "count": "true"}, headers=headers
    ).json()
    assert len(page["events"]) == 2 and page["total"] == 5 and page["total_capped"] is False
    second = api.get(
        "/api/v1/events",
        params={"plate": "A123BC77", "limit": 2, "count": "true", "cursor": page["next_cursor"]},
        headers=headers,
    ).json()
    assert second["total"] is None  # counted once, on the first page
    fuzzy = {"plate": "A132BC77", "match": "fuzzy", "count": "true", "site": "north"}
    assert api.get("/api/v1/events", params=fuzzy, headers=headers).json()["total"] == 4
    assert api.get("/api/v1/events", params={"site": "north"}, headers=headers).json()["total"] is None
    cameras = api.get("/api/v1/cameras", headers=headers).json()
    assert [(c["site_id"], c["device_id"], c["channel_id"]) for c in cameras] == [
        ("north", "gate1", "cam1"),
        ("north", "gate1", "cam2"),
        ("south", "yard1", "cam1"),
    ]
    assert [
        c["channel_id"] for c in api.get("/api/v1/cameras", params={"site": "south"}, headers=headers).json()
    ] == ["cam1"]
