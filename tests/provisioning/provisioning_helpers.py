"""A tiny synchronous MQTT client for checking what the broker allows."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from provisioning.local_broker import LocalBroker


@dataclass(frozen=True)
class FleetBroker:
    broker: LocalBroker
    plain_port: int  # password logins
    tls_port: int  # TLS with password logins
    cert_port: int  # TLS with client certificates


class Session:
    """Connects (or fails to), then publishes and subscribes waiting for each answer."""

    def __init__(
        self,
        port: int,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        *,
        ca_file: Path | None = None,
        cert: tuple[Path, Path] | None = None,
        connack_timeout: float = 10.0,
    ) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            certfile, keyfile = cert if cert else (None, None)
            self.client.tls_set(
                ca_certs=str(ca_file),
                certfile=str(certfile) if certfile else None,
                keyfile=str(keyfile) if keyfile else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        self.messages: list[mqtt.MQTTMessage] = []
        self.connack: ReasonCode | None = None
        self._connected = threading.Event()
        self._answers: dict[int, object] = {}
        self._answered = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.append(m)
        self.client.on_publish = lambda c, u, mid, reason, p: self._answer(mid, reason)
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self._answer(mid, reasons)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._connected.wait(connack_timeout):
            self.client.loop_stop()
            raise TimeoutError("no CONNACK")

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, p: object
    ) -> None:
        self.connack = reason
        self._connected.set()

    def _answer(self, mid: int, value: object) -> None:
        with self._answered:
            self._answers[mid] = value
            self._answered.notify_all()

    def _wait(self, mid: int) -> object:
        with self._answered:
            if not self._answered.wait_for(lambda: mid in self._answers, 10):
                raise TimeoutError(f"no answer for message {mid}")
            return self._answers.pop(mid)

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> ReasonCode:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        reason = self._wait(info.mid)
        assert isinstance(reason, ReasonCode)
        return reason

    def subscribe(self, topic: str) -> ReasonCode:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        reasons = self._wait(mid)
        assert isinstance(reasons, list)
        return reasons[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
