"""Watchlists at central: operator-only edits, audit, CSV import/export, assignment and versioned pushes;
gate decisions from the boxes, visible in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central_app import login
from central_factories import status_message
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.models import AuditEntry, WatchlistPushRow
from central.ingest.decode import decode
from central.ingest.writer import BatchResult, IngestWriter
from common.gates import GateDecision, OutputResult
from common.messages import WatchlistAck
from common.plates.reading import PlateReading
from common.topics import device_topic

NOW = datetime.now(UTC)
CSV = (
    "plate,match,valid_from,valid_until,weekdays,hours,note\n"
    "а123вс77,exact,,,,,director\n"
    "B777OP99,fuzzy,2026-01-01,2026-12-31,mon-fri,08:00-18:00,contractor\n"
)


def _ingest(engine: Engine, *messages: tuple[str, bytes]) -> BatchResult:
    return IngestWriter(engine).write([decode(t, p, NOW) for t, p in messages])


def _pushes(engine: Engine, device: str) -> list[WatchlistPushRow]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(WatchlistPushRow)
                .where(WatchlistPushRow.device_id == device)
                .order_by(WatchlistPushRow.version)
            )
        )


def _staff_list(api: TestClient, operator: dict[str, str]) -> None:
    made = api.post(
        "/api/v1/watchlists", json={"list_id": "staff", "name": "Staff", "kind": "allow"}, headers=operator
    )
    assert made.status_code == 201, made.text


def test_only_operators_edit_and_every_change_is_audited(api: TestClient, engine: Engine) -> None:
    viewer, operator = login(api, "viewer"), login(api, "operator")
    body = {"list_id": "staff", "name": "Staff", "kind": "allow"}
    assert api.post("/api/v1/watchlists", json=body, headers=viewer).status_code == 403
    _staff_list(api, operator)
    assert api.post("/api/v1/watchlists", json=body, headers=operator).status_code == 409
    added = api.post(
        "/api/v1/watchlists/staff/entries", json={"plate": "а 123 вс 77", "note": "boss"}, headers=operator
    )
    assert added.status_code == 201 and added.json()["entry"]["plate"] == "A123BC77"
    again = api.post("/api/v1/watchlists/staff/entries", json={"plate": "A123BC77"}, headers=operator)
    assert again.status_code == 409
    odd = api.post("/api/v1/watchlists/staff/entries", json={"plate": "ZZZZZZZZZ"}, headers=operator)
    assert odd.status_code == 201 and "stored, but 'ZZZZZZZZZ' fits no format" in odd.json()["warning"]
    assert added.json()["warning"] is None
    api.delete(f"/api/v1/watchlists/staff/entries/{odd.json()['id']}", headers=operator)
    bad = api.post("/api/v1/watchlists/staff/entries", json={"plate": "--"}, headers=operator)
    assert bad.status_code == 422 and "no characters a plate carries" in bad.text
    detail = api.get("/api/v1/watchlists/staff", headers=viewer).json()
    assert detail["entries"] == 1 and detail["items"][0]["entry"]["note"] == "boss"
    assert (
        api.delete(f"/api/v1/watchlists/staff/entries/{detail['items'][0]['id']}", headers=viewer).status_code
        == 403
    )
    with Session(engine) as session:
        actions = [
            (a.username, a.action)
            for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if a.action != "login"
        ]
    assert actions == [
        ("oscar", "watchlist_create"),
        ("oscar", "watchlist_entry_add"),
        ("oscar", "watchlist_entry_add"),
        ("oscar", "watchlist_entry_remove"),
        ("victor", "watchlist_view"),
    ]


def test_csv_import_export_and_a_malformed_import_changes_nothing(api: TestClient) -> None:
    operator = login(api, "operator")
    _staff_list(api, operator)
    imported = api.put(
        "/api/v1/watchlists/staff/entries.csv",
        content=CSV.encode(),
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 2 and imported.json()["unknown_format"] == []
    foreign = api.put(
        "/api/v1/watchlists/other/entries.csv",
        content=b"plate\nZZ-ZZZ-ZZZ9\n",
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert foreign.status_code == 404  # no such list: nothing is created by an import
    broken = "plate,match,hours\nA1,exact,\n,exact,\nC555CC55,sometimes,\nD1,exact,25:00-26:00\n"
    refused = api.put(
        "/api/v1/watchlists/staff/entries.csv",
        content=broken.encode(),
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert refused.status_code == 422
    errors = [item["msg"] for item in refused.json()["detail"]]  # FastAPI's 422 body shape
    assert [e.split(":")[0] for e in errors] == ["line 3", "line 4", "line 5"]
    for unreadable in ("\r0", "plate,note\nA123BC77,\"two\nlines\"\n", "plate\n\"A1\x00\n"):
        answer = api.put(
            "/api/v1/watchlists/staff/entries.csv",
            content=unreadable.encode(),
            headers={**operator, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 422 and answer.json()["detail"][0]["msg"].startswith("line ")
    appended = api.put(
        "/api/v1/watchlists/staff/entries.csv?mode=append",
        content="plate\nΑΒΓ 123\n".encode(),
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert appended.json()["unknown_format"] == ["ΑΒΓ123"] and appended.json()["imported"] == 3
    api.put(
        "/api/v1/watchlists/staff/entries.csv",
        content=CSV.encode(),
        headers={**operator, "Content-Type": "text/csv"},
    )
    exported = api.get("/api/v1/watchlists/staff/entries.csv", headers=login(api, "viewer"))
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines() == [
        "plate,match,valid_from,valid_until,weekdays,hours,note",
        "A123BC77,exact,,,,,director",
        'B777OP99,fuzzy,2026-01-01,2026-12-31,"1,2,3,4,5",08:00-18:00,contractor',
    ]
    unknown_column = api.put(
        "/api/v1/watchlists/staff/entries.csv",
        content=b"plate,colour\nA1,red\n",
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert unknown_column.status_code == 422 and "unknown columns" in unknown_column.text


def test_assignment_pushes_a_new_version_only_to_the_devices_it_changes(
    api: TestClient, engine: Engine
) -> None:
    _ingest(
        engine, status_message(site="north", device="gate1"), status_message(site="south", device="yard1")
    )
    operator = login(api, "operator")
    _staff_list(api, operator)
    api.put(
        "/api/v1/watchlists/staff/entries.csv",
        content=CSV.encode(),
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert _pushes(engine, "gate1") == []  # not assigned anywhere yet
    zone = api.put("/api/v1/sites/north/settings", json={"timezone": "Europe/Moscow"}, headers=operator)
    assert zone.status_code == 200
    assert (
        api.put("/api/v1/sites/north/settings", json={"timezone": "Mars/Base"}, headers=operator).status_code
        == 422
    )
    assigned = api.put(
        "/api/v1/watchlists/staff/assignments",
        json=[{"site_id": "north", "gate_id": "barrier"}],
        headers=operator,
    )
    assert assigned.json()["assignments"] == [{"site_id": "north", "gate_id": "barrier"}]
    pushes = _pushes(engine, "gate1")
    bundle = pushes[-1].bundle
    assert bundle["timezone"] == "Europe/Moscow" and bundle["lists"][0]["gates"] == ["barrier"]
    assert [e["plate"] for e in bundle["lists"][0]["entries"]] == ["A123BC77", "B777OP99"]
    assert _pushes(engine, "yard1") == []
    before = len(pushes)
    api.post("/api/v1/watchlists/staff/entries", json={"plate": "E001EE01"}, headers=operator)
    assert len(_pushes(engine, "gate1")) == before + 1
    state = api.get("/api/v1/devices/gate1/watchlists", headers=login(api, "viewer")).json()
    assert state["version"] == before + 1 and state["published"] is False  # no broker in this test

    ack = WatchlistAck(
        site_id="north",
        device_id="gate1",
        version=before + 1,
        accepted=True,
        outcome="applied",
        running_version=before + 1,
        entries=3,
        applied_at=NOW,
    )
    _ingest(engine, (device_topic("north", "gate1", "watchlists/ack"), ack.to_json()))
    state = api.get("/api/v1/devices/gate1/watchlists", headers=login(api, "viewer")).json()
    assert (state["ack_outcome"], state["running_version"]) == ("applied", before + 1)


def decision(plate: str, action: str, rule: str, alert: bool, at: datetime) -> GateDecision:
    return GateDecision(
        site_id="north",
        device_id="gate1",
        gate_id="barrier",
        channel_id="cam1",
        track_id=3,
        plate=PlateReading(text=plate, latin=plate, confidence=0.91, valid=True),
        action=action,  # type: ignore[arg-type]
        rule=rule,
        alert=alert,
        watchlist_version=2,
        captured_at=at,
        decided_at=at + timedelta(milliseconds=30),  # type: ignore[arg-type]
        outputs=(OutputResult(name="relay", type="http", ok=action == "open", attempts=1),)
        if action == "open"
        else (),
        latency_ms=41.5 if action == "open" else None,
        crop_jpeg=b"\xff\xd8crop\xff\xd9",
    )


def test_gate_decisions_are_stored_once_and_listed(api: TestClient, engine: Engine) -> None:
    opened = decision("A123BC77", "open", "allow-list", False, NOW - timedelta(minutes=2))
    denied = decision("B777OP99", "closed", "deny-list", True, NOW - timedelta(minutes=1))
    topic = device_topic("north", "gate1", "decisions")
    first = _ingest(engine, (topic, opened.to_json()), (topic, denied.to_json()), (topic, denied.to_json()))
    again = _ingest(engine, (topic, opened.to_json()))  # redelivered after a reconnect
    # Both are confirmed to the box in its receipt: the new ones and the re-sent one.
    [receipt] = first.receipts.messages(NOW)
    assert (receipt.site_id, receipt.device_id) == ("north", "gate1")
    assert receipt.decisions == [opened.decision_id, denied.decision_id] and receipt.stored == []
    [repeated] = again.receipts.messages(NOW)
    assert repeated.decisions == [opened.decision_id] and again.decisions == []
    assert b'"decisions"' in repeated.to_json()
    viewer = login(api, "viewer")
    listed = api.get("/api/v1/decisions", headers=viewer).json()
    assert [(d["plate_latin"], d["action"], d["rule"], d["alert"]) for d in listed] == [
        ("B777OP99", "closed", "deny-list", True),
        ("A123BC77", "open", "allow-list", False),
    ]
    assert listed[1]["latency_ms"] == 41.5 and listed[1]["outputs"][0]["ok"] is True and listed[1]["has_crop"]
    only_alerts = api.get("/api/v1/decisions", params={"alert": True}, headers=viewer).json()
    assert [d["plate_latin"] for d in only_alerts] == ["B777OP99"]
    by_plate = api.get("/api/v1/decisions", params={"plate": "а123вс77"}, headers=viewer).json()
    assert [d["decision_id"] for d in by_plate] == [str(opened.decision_id)]
    crop = api.get(f"/api/v1/decisions/{opened.decision_id}/crop.jpg", headers=viewer)
    assert crop.status_code == 200 and crop.content == b"\xff\xd8crop\xff\xd9"
    manual = GateDecision(
        site_id="north",
        device_id="gate1",
        gate_id="barrier",
        channel_id="cam1",
        track_id=0,
        plate=None,
        action="open",
        rule="manual",
        alert=False,
        watchlist_version=2,
        captured_at=NOW,
        decided_at=NOW,
        requested_by="home-assistant",
    )
    _ingest(engine, (topic, manual.to_json()))
    (shown,) = api.get(
        "/api/v1/decisions",
        params={"action": "open", "since": (NOW - timedelta(seconds=1)).isoformat()},
        headers=viewer,
    ).json()
    assert (shown["rule"], shown["plate_text"], shown["requested_by"]) == ("manual", None, "home-assistant")
    forged = decision("C1", "open", "allow-list", False, NOW).model_copy(update={"device_id": "other"})
    _ingest(engine, (topic, forged.to_json()))  # a device cannot speak for another
    assert len(api.get("/api/v1/decisions", headers=viewer).json()) == 3
