"""Home Assistant MQTT discovery through a real broker: discovery configs with availability from the
Last Will topic, then last plate, last crop and the gate's state after a decision."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from sync_helpers import DEVICE, SITE, Subscriber, edge_config, wait_until

from common.config import EdgeConfig
from common.gates import GateDecision, OutputResult
from common.plates.reading import PlateReading
from common.topics import device_topic
from common.watchlists import WatchlistIndex, empty_bundle
from edge.gates import GateController
from edge.store.store import EventStore
from edge.sync import Backoff, SyncPublisher
from edge.sync.home_assistant import HomeAssistantBridge
from provisioning.local_broker import LocalBroker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gates"))
from standins import HttpRelayStandIn

NODE = "anpr_site-1_gate_north"


def test_discovery_and_state_updates(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber]
) -> None:
    discovery = subscribe("homeassistant/#", f"ha-{uuid.uuid4().hex[:8]}")
    states = subscribe(f"anpr/v1/{SITE}/{DEVICE}/ha/#", f"ha-state-{uuid.uuid4().hex[:8]}")
    base = edge_config(broker)
    config = EdgeConfig.model_validate(
        {
            **base.model_dump(mode="json"),
            "cameras": [{"id": "cam1", "source": "sample:clip"}],
            "gate_control": {"gates": [{"id": "barrier", "channels": ["cam1"]}]},
            "home_assistant": {"enabled": True},
        }
    )
    bridge = HomeAssistantBridge(config, "0.1.0")
    publisher = SyncPublisher(
        config,
        store,
        agent_version="test",
        home_assistant=bridge,
        backoff=Backoff(0.05, 0.5),
        idle_poll_s=0.02,
        client_id=f"ha-box-{uuid.uuid4().hex[:6]}",
    )
    publisher.start()
    try:
        wait_until(lambda: len(discovery.messages) >= 3, 10, "the discovery configs")
        configs = {m.topic: json.loads(m.payload) for m in discovery.messages}
        plate = configs[f"homeassistant/sensor/{NODE}/last_plate/config"]
        assert plate["availability_topic"] == device_topic(SITE, DEVICE, "status")
        assert plate["payload_not_available"] == "offline" and plate["device"]["identifiers"] == [NODE]
        assert configs[f"homeassistant/image/{NODE}/last_crop/config"]["content_type"] == "image/jpeg"
        assert configs[f"homeassistant/binary_sensor/{NODE}/gate_barrier/config"]["device_class"] == "opening"

        now = datetime.now(UTC)
        decision = GateDecision(
            site_id=SITE,
            device_id=DEVICE,
            gate_id="barrier",
            channel_id="cam1",
            track_id=1,
            plate=PlateReading(text="А123ВС77", latin="A123BC77", confidence=0.95, valid=True),
            action="open",
            rule="allow-list",
            alert=False,
            watchlist_version=1,
            captured_at=now,
            decided_at=now,
            outputs=(OutputResult(name="relay", type="http", ok=True, attempts=1, sent_at=now),),
            crop_jpeg=b"\xff\xd8crop\xff\xd9",
        )
        bridge.on_decision(decision, publisher.side.publish)
        wait_until(lambda: len(states.messages) >= 3, 10, "the state updates")
    finally:
        bridge.stop()
        publisher.stop()
    by_topic = {m.topic: m.payload for m in states.messages}
    base_topic = f"anpr/v1/{SITE}/{DEVICE}/ha"
    assert json.loads(by_topic[f"{base_topic}/last_plate"])["plate"] == "А123ВС77"
    assert by_topic[f"{base_topic}/last_crop"] == b"\xff\xd8crop\xff\xd9"
    assert by_topic[f"{base_topic}/gate/barrier/state"] == b"ON"


def test_the_open_button_opens_the_gate_and_is_recorded(
    broker: LocalBroker, store: EventStore, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    relay = HttpRelayStandIn()
    config = EdgeConfig.model_validate(
        {
            **edge_config(broker).model_dump(mode="json"),
            "cameras": [{"id": "cam1", "source": "sample:clip"}],
            "gate_control": {
                "gates": [
                    {"id": "barrier", "channels": ["cam1"], "outputs": [{"type": "http", "url": relay.url}]}
                ]
            },
            "home_assistant": {"enabled": True, "open_button": True},
        }
    )
    decisions: list[GateDecision] = []
    gates = GateController(
        SITE, DEVICE, config.gate_control.gates, WatchlistIndex(empty_bundle(SITE)), decisions.append
    )
    discovery = subscribe("homeassistant/button/#", f"ha-btn-{uuid.uuid4().hex[:8]}")
    bridge = HomeAssistantBridge(config, "0.1.0", open_gate=gates.open_manually)
    publisher = SyncPublisher(
        config,
        store,
        agent_version="test",
        home_assistant=bridge,
        backoff=Backoff(0.05, 0.5),
        idle_poll_s=0.02,
        client_id=f"ha-box-{uuid.uuid4().hex[:6]}",
    )
    publisher.start()
    try:
        wait_until(lambda: bool(discovery.messages), 10, "the button's discovery config")
        button = json.loads(discovery.messages[0].payload)
        assert button["command_topic"] == f"anpr/v1/{SITE}/{DEVICE}/ha/gate/barrier/open"
        ha = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"ha-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        ha.connect(broker.host, broker.port)
        ha.loop_start()
        ha.publish(button["command_topic"], b"something else", qos=1).wait_for_publish(5)  # ignored
        ha.publish(button["command_topic"], button["payload_press"].encode(), qos=1).wait_for_publish(5)
        relay.wait_for(1)
        wait_until(lambda: bool(decisions), 10, "the manual decision")
        ha.loop_stop()
        ha.disconnect()
    finally:
        publisher.stop()
        gates.stop()
        relay.close()
    (manual,) = decisions
    assert (manual.rule, manual.action, manual.plate, manual.requested_by) == (
        "manual",
        "open",
        None,
        "home-assistant",
    )
    assert manual.outputs[0].ok and len(relay.requests) == 1


def test_without_open_button_there_is_no_button(tmp_path: Path) -> None:
    config = EdgeConfig.model_validate(
        {
            "cameras": [{"id": "cam1", "source": "sample:clip"}],
            "gate_control": {"gates": [{"id": "barrier", "channels": ["cam1"]}]},
            "home_assistant": {"enabled": True},
        }
    )
    opened: list[str] = []
    bridge = HomeAssistantBridge(config, "0.1.0", open_gate=lambda gate, who: bool(opened.append(gate)))
    assert bridge.command_topics() == [] and not any("/button/" in t for t, _, _ in bridge.discovery())
    assert not bridge.on_command(bridge.command_topic("barrier"), b"PRESS") and opened == []
