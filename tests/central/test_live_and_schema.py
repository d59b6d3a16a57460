"""Live feed authentication and filters; the migrations match the models on each database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from central_app import login
from central_factories import event_message, make_event
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.websockets import WebSocketDisconnect

from central.db.migrate import current_revision, downgrade, head_revision, upgrade
from central.db.models import Base
from central.db.partitions import include_in_autogenerate
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter


def test_migrations_match_the_models_and_downgrade(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        # The same filter as the migrations' own: PostgreSQL's partitions and id registry are not
        # in the models (central.db.partitions).
        context = MigrationContext.configure(connection, opts={"include_object": include_in_autogenerate})
        assert compare_metadata(context, Base.metadata) == []
    downgrade(engine, "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_live_feed_refuses_missing_and_forged_tokens(sqlite_api: TestClient) -> None:
    for first_message in ({"token": "forged.token.value"}, {"hello": "no token"}):
        with sqlite_api.websocket_connect("/ws/events") as websocket:
            websocket.send_json(first_message)
            reply = websocket.receive_json()
            assert reply["type"] == "error" and "not authenticated" in reply["detail"]
            with pytest.raises(WebSocketDisconnect):
                websocket.receive_json()
    with sqlite_api.websocket_connect("/ws/events?token=nope") as websocket:
        assert websocket.receive_json()["type"] == "error"


def test_live_feed_filters_by_site_and_plate(sqlite_api: TestClient, sqlite_engine: Engine) -> None:
    token = login(sqlite_api, "viewer")["Authorization"].split()[1]
    hub = sqlite_api.app.state.ctx.hub  # type: ignore[attr-defined]
    with sqlite_api.websocket_connect(f"/ws/events?token={token}&site=north&plate=А12") as websocket:
        ready = websocket.receive_json()
        assert ready["type"] == "ready" and ready["filters"] == {"site": "north", "plate": "А12"}
        events = [
            make_event("В001ВВ01", site="north"),  # plate does not match
            make_event("А123ВС77", site="south"),  # site does not match
            make_event("A129BC77", site="north"),  # Latin spelling of a Cyrillic prefix: matches
        ]
        result = IngestWriter(sqlite_engine).write(
            [decode(*event_message(e), datetime.now(UTC)) for e in events]
        )
        hub.publish(result.stored)
        message = websocket.receive_json()
        assert message["type"] == "event" and message["event"]["plate_text"] == "A129BC77"
        assert message["event"]["crop_url"].endswith("/crop.jpg")
