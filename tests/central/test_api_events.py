"""Search API, event detail and crops, over HTTP on each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central_app import login
from central_factories import TINY_JPEG, event_message, make_event
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def _store(engine: Engine, *events) -> None:  # type: ignore[no-untyped-def]
    IngestWriter(engine).write([decode(*event_message(e), T0) for e in events])


def test_search_detail_and_crop(api: TestClient, engine: Engine) -> None:
    with_crop = make_event("А123ВС77", at=T0)
    without = make_event("В456ОР99", at=T0 + timedelta(minutes=1), crop=None, site="south")
    _store(engine, with_crop, without)
    headers = login(api, "viewer")

    page = api.get("/api/v1/events", params={"plate": "a123bc77"}, headers=headers).json()
    assert [e["event_id"] for e in page["events"]] == [str(with_crop.event_id)]
    assert page["next_cursor"] is None
    summary = page["events"][0]
    assert summary["plate_text"] == "А123ВС77" and summary["crop_url"].endswith("/crop.jpg")

    detail = api.get(f"/api/v1/events/{with_crop.event_id}", headers=headers).json()
    assert detail["box"] == [100, 200, 220, 240] and detail["captured_at"].startswith("2026-11-01T08:00:00")
    crop = api.get(summary["crop_url"], headers=headers)
    assert (
        crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg" and crop.content == TINY_JPEG
    )
    assert api.get(f"/api/v1/events/{without.event_id}/crop.jpg", headers=headers).status_code == 404

    by_site = api.get("/api/v1/events", params={"site": "south"}, headers=headers).json()
    assert [e["plate_text"] for e in by_site["events"]] == ["В456ОР99"]
    fuzzy = api.get("/api/v1/events", params={"plate": "B4560P99", "match": "fuzzy"}, headers=headers).json()
    assert [e["plate_text"] for e in fuzzy["events"]] == ["В456ОР99"]


def test_pagination_over_http(api: TestClient, engine: Engine) -> None:
    events = [make_event(f"A{i:03d}AA77", at=T0 + timedelta(seconds=i)) for i in range(7)]
    _store(engine, *events)
    headers = login(api, "viewer")
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/events", params=params, headers=headers).json()
        seen += [e["event_id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [str(e.event_id) for e in reversed(events)]


def test_bad_search_parameters_are_422(api: TestClient) -> None:
    headers = login(api, "viewer")
    for params in (
        {"plate": "A1$"},
        {"match": "regex"},
        {"limit": 0},
        {"cursor": "garbage"},
        {"since": "2026-11-01T08:00:00"},  # no time zone
        {"site": "no spaces allowed"},
    ):
        response = api.get("/api/v1/events", params=params, headers=headers)
        assert response.status_code == 422, params
    assert api.get("/api/v1/events/not-a-uuid", headers=headers).status_code == 422
    assert api.get(f"/api/v1/events/{make_event().event_id}", headers=headers).status_code == 404
