"""Watchlists from central to a box and decisions back, through the real broker: a list edited while
the box's link is cut reaches it (retained) when it reconnects, is acknowledged, and the box's
gate decisions show up in central's API and are confirmed back to the box by receipt."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from central_app import BROKER, login, make_central_app, require_broker, wait_for
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from central.app import start_ingest
from central.config import MqttSettings
from common.config import EdgeConfig, MqttConfig
from common.gates import GateDecision
from common.plates.reading import PlateReading
from common.topics import device_topic
from common.watchlists import WatchlistIndex, empty_bundle
from edge.store.store import EventStore
from edge.sync import Backoff, SyncPublisher, WatchlistApplier

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module", autouse=True)
def _broker_up() -> None:
    require_broker()


def _clear_retained(topic: str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(*BROKER)
    client.loop_start()
    client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def test_watchlist_reaches_a_box_that_was_offline_and_decisions_come_back(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    site, device = f"wl{tag}", f"box{tag}"
    app = make_central_app(sqlite_engine, tmp_path / "data", password_hash)
    ctx = app.state.ctx
    ctx.config = ctx.config.model_copy(
        update={
            "mqtt": MqttSettings(client_id=f"central-wl-{tag}", share_group=f"wl{tag}", batch_max_wait_ms=20)
        }
    )
    box_config = EdgeConfig(
        site_id=site,
        device_id=device,
        cameras=[],
        mqtt=MqttConfig(enabled=True, host=BROKER[0], port=BROKER[1]),
    )
    store = EventStore(tmp_path / "box.db", os.urandom(32), synchronous="NORMAL")
    used: list[WatchlistIndex] = []
    applier = WatchlistApplier(
        site, device, tmp_path / "watchlists.json", WatchlistIndex(empty_bundle(site)), used.append
    )

    def box() -> SyncPublisher:
        return SyncPublisher(
            box_config,
            store,
            agent_version="test",
            decision_outbox=store.decisions,
            watchlist_applier=applier,
            backoff=Backoff(0.05, 0.5),
            idle_poll_s=0.02,
            client_id=f"box-{tag}",
        )

    with TestClient(app) as client:
        ingest = start_ingest(ctx)
        try:
            assert ingest.wait_connected(5)
            first = box()
            first.start()
            viewer = login(client, "viewer")
            assert wait_for(
                lambda: client.get(f"/api/v1/devices/{device}", headers=viewer).status_code == 200
            )
            first.stop()  # the link is cut

            operator = login(client, "operator")
            client.post(
                "/api/v1/watchlists",
                json={"list_id": f"staff{tag}", "name": "Staff", "kind": "allow"},
                headers=operator,
            )
            client.post(
                f"/api/v1/watchlists/staff{tag}/entries", json={"plate": "А123ВС77"}, headers=operator
            )
            client.put(
                f"/api/v1/watchlists/staff{tag}/assignments", json=[{"site_id": site}], headers=operator
            )
            state = client.get(f"/api/v1/devices/{device}/watchlists", headers=viewer).json()
            assert state["published"] is True and state["ack_outcome"] is None

            second = box()  # back online: the retained push is waiting
            second.start()
            try:
                assert wait_for(lambda: bool(used), 10)
                assert used[-1].match("A123BC77", datetime.now(UTC))
                assert wait_for(
                    lambda: (
                        client.get(f"/api/v1/devices/{device}/watchlists", headers=viewer).json()[
                            "ack_outcome"
                        ]
                        == "applied"
                    )
                )

                now = datetime.now(UTC)
                decision = GateDecision(
                    site_id=site,
                    device_id=device,
                    gate_id="barrier",
                    channel_id="cam1",
                    track_id=1,
                    plate=PlateReading(text="A123BC77", latin="A123BC77", confidence=0.95, valid=True),
                    action="open",
                    rule="allow-list",
                    alert=False,
                    watchlist_version=used[-1].version,
                    captured_at=now,
                    decided_at=now,
                )
                store.decisions.add(decision)
                assert wait_for(
                    lambda: bool(
                        client.get("/api/v1/decisions", params={"site": site}, headers=viewer).json()
                    )
                )
                listed = client.get("/api/v1/decisions", params={"site": site}, headers=viewer).json()
                assert listed[0]["decision_id"] == str(decision.decision_id)
                # Central's receipt, sent after its commit, is what lets the box mark it synced.
                assert wait_for(lambda: store.decisions.pending_count() == 0)
            finally:
                second.stop()
        finally:
            ingest.stop()
            store.close()
            _clear_retained(device_topic(site, device, "watchlists"))
            _clear_retained(device_topic(site, device, "status"))
