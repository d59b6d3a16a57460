"""The agent with a gate, end to end on a colour-plate clip: the cached lists decide (no central
needed), a real HTTP relay opens for the allowed car only, every decision is stored sealed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from standins import HttpRelayStandIn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/edge: the agent helpers

from agent_helpers import make_agent, make_config, open_test_store
from edge_scene import Passing, write_clip

from common.gates import GateDecision
from common.watchlists import Watchlist, WatchlistBundle, WatchlistEntry
from edge.gates import save_watchlists

THREE_CARS = [Passing("red", 5, 40), Passing("green", 60, 40, y=120), Passing("blue", 115, 40, y=260)]


@pytest.fixture(scope="module")
def three_cars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "three.avi", THREE_CARS, total_frames=170)


def test_gate_decides_each_car_once_from_the_cached_lists(
    tmp_path: Path, three_cars: Path, relay: HttpRelayStandIn
) -> None:
    save_watchlists(
        tmp_path / "watchlists.json",
        WatchlistBundle(
            version=5,
            site_id="depot",
            lists=(
                Watchlist(
                    list_id="staff", name="Staff", kind="allow", entries=(WatchlistEntry(plate="А123ВС77"),)
                ),
                Watchlist(
                    list_id="banned",
                    name="Banned",
                    kind="deny",
                    entries=(WatchlistEntry(plate="E456KM99", match="fuzzy"),),
                ),
            ),
        ),
    )
    gate = {"id": "barrier", "channels": ["gate"], "outputs": [{"type": "http", "url": relay.url}]}
    config = make_config(
        tmp_path,
        [{"id": "gate", "source": str(three_cars)}],
        site_id="depot",
        gate_control={"gates": [gate], "watchlist_cache": str(tmp_path / "watchlists.json")},
    )
    seen: list[GateDecision] = []
    key = os.urandom(32)
    store = open_test_store(tmp_path / "events.db", key)
    agent = make_agent(config, store, decision_listeners=[seen.append])
    agent.start()
    try:
        assert agent.wait_until_finished(60)
    finally:
        agent.stop()
    with open_test_store(tmp_path / "events.db", key) as reopened:
        stored = sorted(reopened.decisions.recent(), key=lambda d: d.captured_at)
    assert [(d.plate.latin, d.action, d.rule) for d in stored] == [
        ("A123BC77", "open", "allow-list"),
        ("E456KM99", "closed", "deny-list"),
        ("O789PT50", "closed", "unknown-closed"),
    ]
    assert stored == sorted(seen, key=lambda d: d.captured_at)
    assert len(relay.requests) == 1 and relay.requests[0].body["decision_id"] == str(stored[0].decision_id)
    opened = stored[0]
    assert opened.outputs[0].ok and opened.latency_ms is not None and opened.watchlist_version == 5
    assert stored[1].alert and opened.crop_jpeg is not None
