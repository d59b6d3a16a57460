"""Gate decisions: rules, de-bouncing, thresholds, and outputs that fail, with a real HTTP relay."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gate_helpers import NOON, Decisions, lists, reading
from standins import HttpRelayStandIn, free_port

from common.gates import GateConfig, HttpRelayOutput
from edge.gates import GateController


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gate(url: str, **overrides: object) -> GateConfig:
    output = HttpRelayOutput(url=url, attempts=2, retry_delay_s=0.01, timeout_s=1.0)
    return GateConfig.model_validate({"id": "north", "channels": ["cam1"], "outputs": [output], **overrides})


@pytest.fixture
def decisions() -> Decisions:
    return Decisions()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def controller(relay: HttpRelayStandIn, decisions: Decisions, clock: Clock) -> Iterator[GateController]:
    made = GateController(
        "site-1",
        "edge1",
        [gate(relay.url)],
        lists(allow=("A123BC77",), deny=("B777OP99",), alert=("C001AA50",)),
        decisions,
        clock=clock,
    )
    yield made
    made.stop()


def test_allow_listed_plate_opens_the_gate(
    controller: GateController, relay: HttpRelayStandIn, decisions: Decisions
) -> None:
    received = time.monotonic()
    assert controller.consider("cam1", 7, reading("A123BC77"), NOON, received)
    request = relay.wait_for(1)[0]
    assert request.method == "POST" and request.path == "/relay/1"
    assert request.body is not None and request.body["command"] == "open" and request.body["gate"] == "north"
    assert "A123BC77" not in str(request.body)  # the relay is not told who came
    decision = decisions.wait_for(1)[0]
    assert (decision.action, decision.rule, decision.alert) == ("open", "allow-list", False)
    assert decision.track_id == 7 and decision.watchlist_version == 1
    assert [m.list_id for m in decision.matches] == ["staff"]
    assert decision.outputs[0].ok and decision.outputs[0].attempts == 1
    assert (
        decision.latency_ms is not None
        and 0 <= decision.latency_ms < (time.monotonic() - received) * 1000 + 1
    )
    assert str(decision.decision_id) == request.body["decision_id"]


def test_deny_listed_plate_stays_closed_and_alerts(
    controller: GateController, relay: HttpRelayStandIn, decisions: Decisions
) -> None:
    assert controller.consider("cam1", 1, reading("B777OP99"), NOON, time.monotonic())
    decision = decisions.wait_for(1)[0]
    assert (decision.action, decision.rule, decision.alert) == ("closed", "deny-list", True)
    assert decision.outputs == () and decision.latency_ms is None
    assert relay.requests == []


def test_unknown_plate_gets_the_gate_policy(relay: HttpRelayStandIn, decisions: Decisions) -> None:
    closed = GateController("site-1", "edge1", [gate(relay.url)], lists(), decisions)
    open_gate = GateController(
        "site-1", "edge1", [gate(relay.url, id="south", unknown_policy="open")], lists(), decisions
    )
    try:
        closed.consider("cam1", 1, reading("X001XX01"), NOON, time.monotonic())
        closed.drain()
        assert decisions.items[0].rule == "unknown-closed" and relay.requests == []
        open_gate.consider("cam1", 1, reading("X001XX01"), NOON, time.monotonic())
        assert decisions.wait_for(2)[1].rule == "unknown-open"
        relay.wait_for(1)
    finally:
        closed.stop()
        open_gate.stop()


def test_alert_list_hit_alerts_without_changing_the_rule(
    controller: GateController, decisions: Decisions
) -> None:
    controller.consider("cam1", 1, reading("C001AA50"), NOON, time.monotonic())
    decision = decisions.wait_for(1)[0]
    assert (decision.action, decision.rule, decision.alert) == ("closed", "unknown-closed", True)


def test_one_vehicle_decides_once_within_the_debounce_window(
    controller: GateController, relay: HttpRelayStandIn, decisions: Decisions, clock: Clock
) -> None:
    assert controller.consider("cam1", 1, reading("A123BC77"), NOON, time.monotonic())
    # The same car again: a split track, or a second camera of the gate, 10 s later.
    clock.now += 10
    assert controller.consider("cam1", 2, reading("A123BC77"), NOON, time.monotonic())
    controller.drain()
    assert len(decisions.items) == 1 and len(relay.requests) == 1
    clock.now += 25  # 35 s after the first: a new visit
    controller.consider("cam1", 3, reading("А123ВС77"), NOON, time.monotonic())  # Cyrillic spelling
    controller.drain()
    assert len(decisions.items) == 2 and len(relay.requests) == 2


def test_weak_or_format_invalid_readings_do_not_decide(
    controller: GateController, decisions: Decisions
) -> None:
    assert not controller.consider("cam1", 1, reading("A123BC77", confidence=0.5), NOON, time.monotonic())
    assert not controller.consider("cam1", 1, reading("A123BC77", valid=False), NOON, time.monotonic())
    assert not controller.consider(
        "cam9", 1, reading("A123BC77"), NOON, time.monotonic()
    )  # not a gate camera
    controller.drain()
    assert decisions.items == []


def test_unreachable_relay_is_retried_and_the_failure_recorded(decisions: Decisions) -> None:
    dead = f"http://127.0.0.1:{free_port()}/relay"
    controller = GateController("site-1", "edge1", [gate(dead)], lists(allow=("A123BC77",)), decisions)
    try:
        controller.consider("cam1", 1, reading("A123BC77"), NOON, time.monotonic())
        decision = decisions.wait_for(1)[0]
    finally:
        controller.stop()
    assert decision.action == "open" and not decision.outputs_ok
    assert decision.outputs[0].attempts == 2 and "Connection refused" in (decision.outputs[0].error or "")
    assert decision.latency_ms is None


def test_relay_refusal_is_a_failed_output(relay: HttpRelayStandIn, decisions: Decisions) -> None:
    relay.status = 503
    controller = GateController("site-1", "edge1", [gate(relay.url)], lists(allow=("A123BC77",)), decisions)
    try:
        controller.consider("cam1", 1, reading("A123BC77"), NOON, time.monotonic())
        decision = decisions.wait_for(1)[0]
    finally:
        controller.stop()
    assert decision.outputs[0].error == "relay answered 503 Service Unavailable"
    assert len(relay.requests) == 2  # both attempts reached it


def test_new_lists_take_effect_at_once(controller: GateController, decisions: Decisions) -> None:
    controller.use_watchlists(lists(deny=("A123BC77",), version=2))
    controller.consider("cam1", 1, reading("A123BC77"), NOON, time.monotonic())
    decision = decisions.wait_for(1)[0]
    assert (decision.rule, decision.watchlist_version) == ("deny-list", 2)


def test_stop_sends_and_records_queued_decisions(relay: HttpRelayStandIn, decisions: Decisions) -> None:
    controller = GateController(
        "site-1", "edge1", [gate(relay.url)], lists(allow=("A123BC77", "A124BC77")), decisions
    )
    controller.consider("cam1", 1, reading("A123BC77"), NOON, time.monotonic())
    controller.consider("cam1", 2, reading("A124BC77"), NOON, time.monotonic())
    controller.stop()
    assert len(decisions.items) == 2 and len(relay.requests) == 2


def test_a_stricter_gate_on_the_same_camera_waits_for_a_better_reading(
    relay: HttpRelayStandIn, decisions: Decisions
) -> None:
    lenient = gate(relay.url, id="car-park", min_confidence=0.6)
    strict = gate(relay.url, id="garage", min_confidence=0.9)
    controller = GateController("site-1", "edge1", [lenient, strict], lists(allow=("A123BC77",)), decisions)
    done: set[str] = set()  # the track's own record, as the pipeline keeps it on the Track
    try:
        assert not controller.consider("cam1", 1, reading("A123BC77", 0.7), NOON, time.monotonic(), done=done)
        assert done == {"car-park"}
        assert controller.consider("cam1", 1, reading("A123BC77", 0.95), NOON, time.monotonic(), done=done)
        controller.drain()
    finally:
        controller.stop()
    assert sorted(d.gate_id for d in decisions.items) == ["car-park", "garage"]  # each once
    assert len(relay.requests) == 2
