"""Retention on SQLite and PostgreSQL: images go first, then events (their hourly counts, and gate
decisions), per site; dead letters and audit entries by age; in batches; run by the server and by
`anpr-central retention run`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from central_factories import event_message, make_event
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.app import create_app
from central.cli import main
from central.config import CentralConfig, MqttSettings, RetentionSettings, SiteRetention
from central.db.models import AuditEntry, DeadLetter, Event, EventHourly, EventImage, GateDecisionRow
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from central.retention import Retention
from central.rollup import hour_of
from common.gates import GateDecision
from common.plates.reading import PlateReading
from common.topics import device_topic

NOW = datetime.now(UTC)
# (site, days old) of each stored event; every one has a crop.
AGES = [("north", 10), ("north", 40), ("north", 100), ("gate", 1), ("gate", 3), ("gate", 10)]


def _fill(engine: Engine) -> dict[tuple[str, int], object]:
    events = {key: make_event(site=key[0], at=NOW - timedelta(days=key[1])) for key in AGES}
    result = IngestWriter(engine).write([decode(*event_message(e), NOW) for e in events.values()])
    assert len(result.stored) == len(AGES)
    with Session(engine) as session, session.begin():
        for days in (10, 40):
            session.add(DeadLetter(received_at=NOW - timedelta(days=days), topic="t", kind="invalid",
                                   reason=f"{days} days", payload=b"x"))
        for days in (100, 400):
            session.add(AuditEntry(at=NOW - timedelta(days=days), username="alice", action="search",
                                   detail={"days": days}, client="127.0.0.1"))
    return {key: event.event_id for key, event in events.items()}


def _settings(**overrides: object) -> RetentionSettings:
    base: dict[str, object] = {
        "events_days": 90, "images_days": 30, "dead_letters_days": 30, "audit_days": 365,
        "sites": {"gate": SiteRetention(events_days=5, images_days=2)}, "batch_size": 2,
    }
    return RetentionSettings(**{**base, **overrides})  # type: ignore[arg-type]


def _state(engine: Engine, ids: dict[tuple[str, int], object]) -> dict[tuple[str, int], str]:
    """Per event: gone, bare (no images, has_crop false) or whole."""
    with Session(engine) as session:
        events = {e.event_id: e for e in session.scalars(select(Event))}
        images = set(session.scalars(select(EventImage.event_id)))
    state = {}
    for key, event_id in ids.items():
        if event_id not in events:
            state[key] = "gone"
        elif event_id in images:
            assert events[event_id].has_crop
            state[key] = "whole"
        else:
            assert not events[event_id].has_crop
            state[key] = "bare"
    return state


EXPECTED = {
    ("north", 10): "whole", ("north", 40): "bare", ("north", 100): "gone",
    ("gate", 1): "whole", ("gate", 3): "bare", ("gate", 10): "gone",
}


def test_images_then_events_by_age_per_site_and_old_dead_letters_and_audit(engine: Engine) -> None:
    ids = _fill(engine)
    deleted = Retention(engine, _settings()).run_once(NOW)
    assert deleted == {
        "events": 2, "images": 2, "event_hours": 2, "decisions": 0, "dead_letters": 1, "audit": 1
    }
    assert _state(engine, ids) == EXPECTED
    with Session(engine) as session:
        assert [d.reason for d in session.scalars(select(DeadLetter))] == ["10 days"]
        assert [a.detail for a in session.scalars(select(AuditEntry))] == [{"days": 100}]
        # The dashboard's hourly counts lost the deleted events' hours and kept the others.
        hours = {(h.site_id, h.hour.replace(tzinfo=UTC)) for h in session.scalars(select(EventHourly))}
    kept = {key for key, state in EXPECTED.items() if state != "gone"}
    assert hours == {(site, hour_of(NOW - timedelta(days=days))) for site, days in kept}
    assert Retention(engine, _settings()).run_once(NOW) == {
        "events": 0, "images": 0, "event_hours": 0, "decisions": 0, "dead_letters": 0, "audit": 0
    }


def test_the_hour_the_cutoff_falls_in_stays_until_all_of_it_is_past(engine: Engine) -> None:
    now = hour_of(NOW) + timedelta(minutes=30)
    cutoff = now - timedelta(days=5)  # gate's events_days: half past some hour
    start = hour_of(cutoff)
    # Both in the hour the cutoff falls in: one before the cutoff, one after.
    events = [make_event(site="gate", at=start), make_event(site="gate", at=cutoff + timedelta(seconds=1))]
    IngestWriter(engine).write([decode(*event_message(e), NOW) for e in events])
    first = Retention(engine, _settings()).run_once(now)
    assert (first["events"], first["event_hours"]) == (1, 0)
    with Session(engine) as session:
        assert [h.events for h in session.scalars(select(EventHourly))] == [2]
    later = Retention(engine, _settings()).run_once(now + timedelta(minutes=30))
    assert (later["events"], later["event_hours"]) == (1, 1)
    with Session(engine) as session:
        assert list(session.scalars(select(EventHourly))) == []


def test_null_keeps_forever_and_a_site_inherits_what_it_does_not_set(engine: Engine) -> None:
    ids = _fill(engine)
    keep = _settings(
        events_days=None, dead_letters_days=None, audit_days=None,
        sites={"gate": SiteRetention(events_days=5)},  # images_days from the top: 30
    )
    assert keep.for_site("gate") == (5, 30) and keep.for_site("north") == (None, 30)
    deleted = Retention(engine, keep).run_once(NOW)
    assert deleted == {
        "events": 1, "images": 2, "event_hours": 1, "decisions": 0, "dead_letters": 0, "audit": 0
    }
    assert _state(engine, ids) == {**{key: "whole" for key in ids}, ("north", 40): "bare",
                                   ("north", 100): "bare", ("gate", 10): "gone"}


def test_gate_decisions_follow_their_sites_event_and_image_ages(engine: Engine) -> None:
    decisions = {
        key: GateDecision(
            site_id=key[0], device_id="box1", gate_id="barrier", channel_id="cam1", track_id=index,
            plate=PlateReading(text="A123BC77", latin="A123BC77", confidence=0.9, valid=True),
            action="open", rule="allow-list", alert=False, watchlist_version=1,
            captured_at=NOW - timedelta(days=key[1]), decided_at=NOW - timedelta(days=key[1]),
            crop_jpeg=b"\xff\xd8crop\xff\xd9",
        )
        for index, key in enumerate(AGES)
    }
    messages = [(device_topic(d.site_id, d.device_id, "decisions"), d.to_json()) for d in decisions.values()]
    IngestWriter(engine).write([decode(topic, payload, NOW) for topic, payload in messages])
    deleted = Retention(engine, _settings()).run_once(NOW)
    assert deleted == {
        "events": 0, "images": 2, "event_hours": 0, "decisions": 2, "dead_letters": 0, "audit": 0
    }
    with Session(engine) as session:
        rows = {row.decision_id: row for row in session.scalars(select(GateDecisionRow))}
    state = {
        key: "gone" if d.decision_id not in rows else ("whole" if rows[d.decision_id].crop_jpeg else "bare")
        for key, d in decisions.items()
    }
    assert state == EXPECTED


def test_the_server_runs_retention_by_itself(engine: Engine, tmp_path: Path) -> None:
    ids = _fill(engine)
    config = CentralConfig(
        data_dir=tmp_path / "data", mqtt=MqttSettings(enabled=False),
        retention=_settings(first_pass_after_s=0, interval_s=3600),
    )
    app = create_app(config, engine=engine)
    with TestClient(app):
        assert app.state.retention.wait_for_passes(1, timeout=60)
    assert _state(engine, ids) == EXPECTED


def test_the_cli_runs_one_pass(
    sqlite_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _fill(sqlite_engine)
    config = tmp_path / "central.yaml"
    config.write_text(yaml.safe_dump({
        "database": {"url": str(sqlite_engine.url)},
        "retention": {
            "events_days": 90, "images_days": 30, "sites": {"gate": {"events_days": 5, "images_days": 2}}
        },
    }))
    assert main(["--config", str(config), "retention", "run"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == "deleted: 2 events, 2 images, 2 event_hours, 0 decisions, 1 dead_letters, 1 audit"
    assert _state(sqlite_engine, ids) == EXPECTED
