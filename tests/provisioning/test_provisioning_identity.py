"""A client id is bound to its login on every listener: no session takeover, no kicking off."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from provisioning_helpers import FleetBroker, Session
from test_provisioning_acl import NORTH, SOUTH, central_session, device_session, password_of

from common.topics import device_topic
from provisioning import layout
from provisioning.provisioner import Provisioner

pytestmark = pytest.mark.broker


class PersistentSession:
    """A clean_start=False session with a session expiry, like central's ingest and the edge."""

    def __init__(self, port: int, client_id: str, username: str, password: str, topic: str | None) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.session_present: bool | None = None
        self.disconnected = threading.Event()
        self._ready = threading.Event()
        self._topic = topic
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, codes, p: self._ready.set()
        self.client.on_message = lambda c, u, m: self.messages.append(m)
        self.client.on_disconnect = lambda c, u, f, reason, p: self.disconnected.set()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=False, properties=properties)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise TimeoutError("no CONNACK/SUBACK")

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, p: object
    ) -> None:
        self.session_present = bool(getattr(flags, "session_present", False))
        if self._topic is not None:
            client.subscribe(self._topic, qos=1)
        else:
            self._ready.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def central_password(fleet: Provisioner) -> str:
    return (fleet.root / "services" / "central" / "mqtt.password").read_text().strip()


def test_a_device_cannot_take_centrals_persistent_session(
    fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    port, events = fleet_broker.plain_port, device_topic(*NORTH, "events")
    central = PersistentSession(port, "central-ingest", "central", central_password(fleet), events)
    central.close()  # offline: the broker queues events for its session
    # South's own credentials with central's client id and clean_start=False: the classic takeover.
    thief = PersistentSession(port, "central-ingest", "site-1/gate.south", password_of(fleet, *SOUTH), None)
    assert thief.session_present is False  # the broker made it south's own session, not central's
    north = device_session(fleet, port, *NORTH)
    for index in range(20):
        assert not north.publish(events, f"event {index}".encode()).is_failure
    north.close()
    time.sleep(0.3)
    thief.close()
    assert thief.messages == []
    back = PersistentSession(port, "central-ingest", "central", central_password(fleet), events)
    deadline = time.monotonic() + 10
    while len(back.messages) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    back.close()
    assert back.session_present is True
    assert [m.payload for m in back.messages] == [f"event {i}".encode() for i in range(20)]


@pytest.mark.parametrize("listener", ["plain", "tls"])
def test_a_device_cannot_kick_another_off_by_reusing_its_client_id(
    fleet: Provisioner, fleet_broker: FleetBroker, listener: str
) -> None:
    port = fleet_broker.plain_port if listener == "plain" else fleet_broker.tls_port
    ca = fleet.device_dir("site-2", "lot") / layout.BROKER_CA if listener == "tls" else None
    client_id = "anpr-site-1-gate.north"
    north = Session(port, client_id, "site-1/gate.north", password_of(fleet, *NORTH), ca_file=ca)
    disconnected = threading.Event()
    north.client.on_disconnect = lambda c, u, f, reason, p: disconnected.set()
    assert north.accepted
    south = Session(port, client_id, "site-1/gate.south", password_of(fleet, *SOUTH), ca_file=ca)
    assert south.accepted  # it connects, as itself
    assert not disconnected.wait(1.0), "north was kicked off by a client reusing its client id"
    assert not north.publish(device_topic(*NORTH, "events"), b"still here").is_failure
    south.close()
    north.close()


def test_the_certificate_identity_is_the_client_id(fleet: Provisioner, fleet_broker: FleetBroker) -> None:
    lot_dir = fleet.device_dir("site-2", "lot")
    cert = (lot_dir / layout.CLIENT_CERT, lot_dir / layout.CLIENT_KEY)
    lot = Session(fleet_broker.cert_port, "central-ingest", ca_file=lot_dir / layout.BROKER_CA, cert=cert)
    assert lot.accepted
    lot.close()
    deadline = time.monotonic() + 5  # the broker logs the connection a moment after the CONNACK
    while "as site-2/lot" not in fleet_broker.broker.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = fleet_broker.broker.log_text()
    assert "New client connected" in log and "as site-2/lot" in log
    assert "as central-ingest" not in log


def test_central_still_connects_and_reads_events(fleet: Provisioner, fleet_broker: FleetBroker) -> None:
    central = central_session(fleet, fleet_broker.plain_port)
    assert central.accepted
    central.close()
