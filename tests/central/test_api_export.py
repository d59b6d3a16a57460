"""Search exports (CSV, ZIP with crops) and the GeoJSON of sites and cameras, over HTTP on each database."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

from central_app import login
from central_factories import TINY_JPEG, effective_message, event_message, make_event, status_message
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.models import AuditEntry
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def _store(engine: Engine, *messages: tuple[str, bytes]) -> None:
    IngestWriter(engine).write([decode(*m, T0) for m in messages])


def _load(engine: Engine) -> None:
    events = [
        make_event("А123ВС77", site="north", device="gate1", at=T0 + timedelta(minutes=i)) for i in range(7)
    ]
    events.append(make_event("В456ОР99", site="north", device="gate1", at=T0, crop=None))
    events.append(make_event("А123ВС77", site="south", device="yard1", at=T0))
    _store(engine, *(event_message(e) for e in events))


def test_csv_export_streams_every_page_newest_first(api: TestClient, engine: Engine) -> None:
    _load(engine)
    response = api.get(
        "/api/v1/events/export.csv",
        params={"site": "north", "plate": "A123BC77"},
        headers=login(api, "viewer"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="anpr-events-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 7 and {r["plate_text"] for r in rows} == {"А123ВС77"}
    assert [r["captured_at"] for r in rows] == sorted((r["captured_at"] for r in rows), reverse=True)
    assert rows[0]["captured_at"].startswith("2026-11-01T08:06:00") and rows[0]["site_id"] == "north"
    limited = api.get("/api/v1/events/export.csv", params={"limit": 3}, headers=login(api, "viewer"))
    assert len(list(csv.DictReader(io.StringIO(limited.text)))) == 3


def test_zip_export_holds_crops_and_a_table(api: TestClient, engine: Engine) -> None:
    _load(engine)
    response = api.get("/api/v1/events/export.zip", params={"site": "north"}, headers=login(api, "operator"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    rows = list(csv.DictReader(io.StringIO(archive.read("events.csv").decode())))
    assert len(rows) == 8
    with_crop = [r for r in rows if r["crop_file"]]
    assert len(with_crop) == 7  # В456ОР99 came without one
    assert all(archive.read(r["crop_file"]) == TINY_JPEG for r in with_crop)
    assert with_crop[0]["crop_file"].startswith("crops/20261101T080600_A123BC77_")
    with Session(engine) as session:
        formats = [
            d["format"]
            for d in session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "export"))
        ]
    assert formats == ["zip"]


def test_exports_refuse_bad_queries_before_streaming(api: TestClient) -> None:
    headers = login(api, "viewer")
    swapped = {"since": T0.isoformat(), "until": (T0 - timedelta(days=1)).isoformat()}
    assert api.get("/api/v1/events/export.csv", params=swapped, headers=headers).status_code == 422
    assert api.get("/api/v1/events/export.zip", params={"limit": 100_000}, headers=headers).status_code == 422
    assert api.get("/api/v1/events/export.csv").status_code == 401


def test_spreadsheet_formulas_are_defused() -> None:
    from central.api.export import _cell

    assert (
        _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("A123BC77") == "A123BC77" and _cell(None) == ""
    )


def test_geojson_of_sites_and_cameras(api: TestClient, engine: Engine) -> None:
    _store(engine, status_message(site="north", device="gate1"), status_message(site="south", device="yard1"))
    _load(engine)
    unlocated_camera = [{"id": "cam1", "source": "x"}]
    _store(engine, effective_message(3, site="north", device="gate1", cameras=unlocated_camera))
    window = {"since": (T0 - timedelta(days=1)).isoformat(), "until": (T0 + timedelta(days=1)).isoformat()}
    viewer = login(api, "viewer")
    unlocated = api.get("/api/v1/geo/cameras.geojson", params=window, headers=viewer).json()
    assert {f["id"]: f["geometry"] for f in unlocated["features"]}["gate1/cam1"] is None

    # Coordinates are set by a config push; the map follows what the device then reports running.
    operator = login(api, "operator")
    located = [{"id": "cam1", "source": "rtsp://10.0.0.5/s", "lat": 55.75, "lon": 37.62}]
    bad = [{"id": "cam1", "source": "rtsp://10.0.0.5/s", "lat": 155.0, "lon": 37.62}]
    refused = api.patch("/api/v1/devices/gate1/config", json={"cameras": bad}, headers=operator)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][:2] == ["body", "cameras"]
    pushed = api.patch("/api/v1/devices/gate1/config", json={"cameras": located}, headers=operator)
    assert pushed.status_code == 200, pushed.text
    _store(engine, effective_message(4, site="north", device="gate1", cameras=located))
    response = api.get("/api/v1/geo/cameras.geojson", params=window, headers=viewer)
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    features = {f["id"]: f for f in collection["features"]}
    gate = features["gate1/cam1"]
    assert gate["geometry"] == {"type": "Point", "coordinates": [37.62, 55.75]}  # lon, lat
    assert gate["properties"]["events"] == 8 and gate["properties"]["site_id"] == "north"
    assert features["yard1/cam1"]["geometry"] is None and features["yard1/cam1"]["properties"]["events"] == 1
    assert features["north"]["geometry"] == {"type": "MultiPoint", "coordinates": [[37.62, 55.75]]}
    assert features["north"]["properties"] == {"kind": "site", "site_id": "north", "events": 8, "cameras": 1}
    assert features["south"]["geometry"] is None
