"""MQTT command output: publish the open command (JSON, QoS 1) and wait for the broker's PUBACK.

The client connects at start and keeps its connection (paho's network thread reconnects), so an
open is one publish. Not connected, or no PUBACK within the timeout, is an OutputError.
"""

from __future__ import annotations

import json
import threading
import uuid

import paho.mqtt.client as mqtt

from common.gates import MqttCommandOutput
from common.mqtt import read_password
from edge.gates.outputs.base import GateCommand, OutputError


class MqttCommand:
    type = "mqtt"

    def __init__(self, settings: MqttCommandOutput) -> None:
        self.settings = settings
        self.name = settings.name or "mqtt"
        self._client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"anpr-gate-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv5,
        )
        if settings.username is not None:
            password = read_password(settings.password_file) if settings.password_file else None
            self._client.username_pw_set(settings.username, password)
        self._connected = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(0.2, 5)
        self._client.connect_async(settings.host, settings.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        if not getattr(reason, "is_failure", False):
            self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, *args: object) -> None:
        self._connected.clear()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def send(self, command: GateCommand) -> None:
        if not self._connected.wait(self.settings.timeout_s):
            raise OutputError(f"not connected to the broker {self.settings.host}:{self.settings.port}")
        payload = json.dumps(command.as_json()).encode("utf-8")
        info = self._client.publish(self.settings.topic, payload, qos=1, retain=self.settings.retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise OutputError(f"publish refused: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(self.settings.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise OutputError(f"publish failed: {exc}") from exc
        if not info.is_published():
            raise OutputError(f"no PUBACK from the broker within {self.settings.timeout_s} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
