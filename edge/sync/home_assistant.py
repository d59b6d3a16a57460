"""Home Assistant MQTT discovery (opt-in: `home_assistant.enabled`): the box appears in HA as a device.

Entities, announced retained under `<discovery_prefix>/<component>/anpr_<site>_<device>/<object>/config`:

- sensor `last_plate`: the plate of the latest gate decision (text, with gate/action/rule attributes);
- image `last_crop`: that decision's plate crop (JPEG bytes on an MQTT image topic);
- binary_sensor `gate_<id>` per gate: ON while a gate opened by a decision is held open;
- button `open_<id>` per gate, only with `home_assistant.open_button`: opens the gate, recorded as a
  decision with rule "manual" (the command topic `.../ha/gate/<id>/open` is writable only by
  accounts the broker ACL allows: `provisioning add-integration --can-open-gates`);
- availability from the box's status topic, whose "offline" is its MQTT Last Will.

State topics live under the box's own `anpr/v1/{site}/{device}/ha/`, so the broker ACL a device
already gets covers them (provisioning adds `ha/#` and the discovery topics). Plates are personal
data: turning this on sends them, in clear, to whatever reads the broker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from common.config import EdgeConfig
from common.gates import GateDecision
from common.topics import PREFIX, device_topic, home_assistant_node_id

# How long HA shows a gate as open after an open decision (the barrier's usual open time).
GATE_OPEN_DISPLAY_S = 10.0

Message = tuple[str, bytes, bool]  # topic, payload, retain
Send = Callable[[str, bytes, bool], None]
OpenGate = Callable[[str, str], bool]  # (gate id, requested by) -> accepted
PRESS = b"PRESS"


class HomeAssistantBridge:
    def __init__(self, config: EdgeConfig, agent_version: str, open_gate: OpenGate | None = None) -> None:
        self.config = config
        self.prefix = config.home_assistant.discovery_prefix
        self.node = home_assistant_node_id(config.site_id, config.device_id)
        self.base = f"{PREFIX}/{config.site_id}/{config.device_id}/ha"
        self.agent_version = agent_version
        self._timers: dict[str, threading.Timer] = {}
        self._open_gate = open_gate if config.home_assistant.open_button else None

    def _device(self) -> dict[str, object]:
        return {
            "identifiers": [self.node],
            "name": f"ANPR {self.config.site_id}/{self.config.device_id}",
            "manufacturer": "anpr",
            "model": "edge box",
            "sw_version": self.agent_version,
        }

    def _availability(self) -> dict[str, object]:
        return {
            "availability_topic": device_topic(self.config.site_id, self.config.device_id, "status"),
            "availability_template": "{{ value_json.state }}",
            "payload_available": "online",
            "payload_not_available": "offline",
        }

    def _config(self, component: str, object_id: str, body: dict[str, object]) -> Message:
        payload = {
            "unique_id": f"{self.node}_{object_id}",
            "object_id": f"{self.node}_{object_id}",
            "device": self._device(),
            **self._availability(),
            **body,
        }
        return f"{self.prefix}/{component}/{self.node}/{object_id}/config", json.dumps(payload).encode(), True

    def discovery(self) -> list[Message]:
        """The retained discovery configs; published on every connect (HA may have restarted)."""
        messages = [
            self._config(
                "sensor",
                "last_plate",
                {
                    "name": "Last plate",
                    "icon": "mdi:car",
                    "state_topic": f"{self.base}/last_plate",
                    "value_template": "{{ value_json.plate }}",
                    "json_attributes_topic": f"{self.base}/last_plate",
                },
            ),
            self._config(
                "image",
                "last_crop",
                {
                    "name": "Last plate crop",
                    "image_topic": f"{self.base}/last_crop",
                    "content_type": "image/jpeg",
                },
            ),
        ]
        for gate in self.config.gate_control.gates:
            messages.append(
                self._config(
                    "binary_sensor",
                    f"gate_{gate.id}",
                    {
                        "name": f"Gate {gate.id}",
                        "device_class": "opening",
                        "state_topic": f"{self.base}/gate/{gate.id}/state",
                        "payload_on": "ON",
                        "payload_off": "OFF",
                    },
                )
            )
            if self._open_gate is not None:
                messages.append(
                    self._config(
                        "button",
                        f"open_{gate.id}",
                        {
                            "name": f"Open gate {gate.id}",
                            "icon": "mdi:gate-open",
                            "command_topic": self.command_topic(gate.id),
                            "payload_press": PRESS.decode(),
                        },
                    )
                )
        return messages

    def command_topic(self, gate_id: str) -> str:
        return f"{self.base}/gate/{gate_id}/open"

    def command_topics(self) -> list[str]:
        """Topics the box subscribes to for the open buttons (none unless `open_button`)."""
        if self._open_gate is None:
            return []
        return [self.command_topic(gate.id) for gate in self.config.gate_control.gates]

    def on_command(self, topic: str, payload: bytes) -> bool:
        """A button press from HA: open that gate. Anything else on the topic is ignored."""
        if self._open_gate is None or payload.strip() != PRESS:
            return False
        for gate in self.config.gate_control.gates:
            if topic == self.command_topic(gate.id):
                return self._open_gate(gate.id, "home-assistant")
        return False

    def on_decision(self, decision: GateDecision, send: Send) -> None:
        """State updates for one decision: last plate and crop (plate decisions only), and the gate's
        open state."""
        if decision.plate is not None:
            state = {
                "plate": decision.plate.text,
                "gate": decision.gate_id,
                "action": decision.action,
                "rule": decision.rule,
                "lists": [m.list_name for m in decision.matches],
                "at": decision.decided_at.isoformat(),
            }
            send(f"{self.base}/last_plate", json.dumps(state).encode(), True)
        if decision.crop_jpeg:
            send(f"{self.base}/last_crop", decision.crop_jpeg, True)
        if decision.action == "open" and decision.outputs_ok:
            topic = f"{self.base}/gate/{decision.gate_id}/state"
            send(topic, b"ON", True)
            previous = self._timers.pop(decision.gate_id, None)
            if previous is not None:
                previous.cancel()
            timer = threading.Timer(GATE_OPEN_DISPLAY_S, send, args=(topic, b"OFF", True))
            timer.daemon = True
            self._timers[decision.gate_id] = timer
            timer.start()

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
