"""The generated password file and ACL, enforced by a real Mosquitto."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from provisioning_helpers import FleetBroker, Session

from common.config import load_edge_config
from common.messages import EventReceipt
from common.topics import CENTRAL_EVENTS_SUBSCRIPTION, device_topic
from edge.store.store import EventStore
from edge.sync import SyncPublisher
from provisioning import layout
from provisioning.provisioner import Provisioner

pytestmark = pytest.mark.broker

NORTH, SOUTH = ("site-1", "gate.north"), ("site-1", "gate.south")


def password_of(fleet: Provisioner, site: str, device: str) -> str:
    return (fleet.device_dir(site, device) / layout.MQTT_PASSWORD).read_text().strip()


def device_session(
    fleet: Provisioner, port: int, site: str, device: str, password: str | None = None
) -> Session:
    return Session(port, f"{site}-{device}", f"{site}/{device}", password or password_of(fleet, site, device))


def central_session(fleet: Provisioner, port: int) -> Session:
    password = (fleet.root / "services" / "central" / "mqtt.password").read_text().strip()
    return Session(port, "central-ingest", "central", password)


def test_wrong_password_and_unknown_users_are_refused(fleet: Provisioner, fleet_broker: FleetBroker) -> None:
    wrong = device_session(fleet, fleet_broker.plain_port, *NORTH, password="not-the-password")
    assert not wrong.accepted and wrong.connack is not None and wrong.connack.value in (0x86, 0x87)
    wrong.close()
    stranger = Session(fleet_broker.plain_port, "x", "site-9/ghost", "whatever")
    anonymous = Session(fleet_broker.plain_port, "y")
    assert not stranger.accepted and not anonymous.accepted
    stranger.close()
    anonymous.close()


def test_a_device_publishes_only_under_its_own_topics(fleet: Provisioner, fleet_broker: FleetBroker) -> None:
    central = central_session(fleet, fleet_broker.plain_port)
    assert central.accepted
    assert not central.subscribe(CENTRAL_EVENTS_SUBSCRIPTION).is_failure
    north = device_session(fleet, fleet_broker.plain_port, *NORTH)
    assert north.accepted
    assert not north.publish(device_topic(*NORTH, "events"), b"own").is_failure
    forged = north.publish(device_topic(*SOUTH, "events"), b"forged")
    assert forged.is_failure and forged.getName() == "Not authorized"
    assert north.publish(device_topic(*SOUTH, "status"), b"forged").is_failure
    assert north.publish(device_topic(*NORTH, "config"), b"self-config").is_failure  # only central pushes
    north.publish(device_topic(*NORTH, "events"), b"marker")
    central.client.loop_stop()  # freeze the view: everything central got is in central.messages
    assert [(m.topic, m.payload) for m in central.messages] == [
        (device_topic(*NORTH, "events"), b"own"),
        (device_topic(*NORTH, "events"), b"marker"),
    ]
    north.close()


def test_a_device_reads_its_own_config_and_not_another_devices(
    fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    central = central_session(fleet, fleet_broker.plain_port)
    for site, device in (NORTH, SOUTH):
        reason = central.publish(device_topic(site, device, "config"), f"cfg {device}".encode(), retain=True)
        assert not reason.is_failure
    north = device_session(fleet, fleet_broker.plain_port, *NORTH)
    # Mosquitto 2.0 grants the subscriptions and checks "read" on every delivery instead.
    for topic in (device_topic(*SOUTH, "config"), device_topic(*NORTH, "config"), "anpr/v1/#"):
        assert not north.subscribe(topic).is_failure
    north.publish(device_topic(*NORTH, "events"), b"sync")  # a round trip: the retained ones are in
    assert sorted(m.payload for m in north.messages) == [b"cfg gate.north"] * 2  # its own, via 2 filters
    assert not any(m.topic.endswith("/events") for m in north.messages)
    north.close()
    central.close()


def test_a_revoked_device_is_refused_after_the_broker_reloads(
    fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    fleet.revoke("site-1/gate.south")
    fleet_broker.broker.reload()
    deadline = time.monotonic() + 5
    while True:
        south = device_session(fleet, fleet_broker.plain_port, *SOUTH)
        south.close()
        if not south.accepted or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not south.accepted
    north = device_session(fleet, fleet_broker.plain_port, *NORTH)
    assert north.accepted  # the others keep working
    north.close()
    assert "site-1/gate.south" not in fleet.acl_file.read_text()


def test_python_hashed_passwords_work_without_mosquitto_passwd(
    tmp_path: Path, fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    fleet.add_device("site-3", "kiosk", use_tool=False, install_dir=tmp_path)
    fleet_broker.broker.reload()
    time.sleep(0.3)
    kiosk = device_session(fleet, fleet_broker.plain_port, "site-3", "kiosk")
    assert kiosk.accepted
    assert not kiosk.publish(device_topic("site-3", "kiosk", "stats"), b"{}").is_failure
    kiosk.close()


def test_passwords_work_over_tls_and_the_server_certificate_verifies(
    fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    ca_file = fleet.device_dir("site-2", "lot") / layout.BROKER_CA  # the broker CA of every TLS bundle
    north = Session(
        fleet_broker.tls_port, "n", "site-1/gate.north", password_of(fleet, *NORTH), ca_file=ca_file
    )
    assert north.accepted
    assert not north.publish(device_topic(*NORTH, "events"), b"over tls").is_failure
    assert north.publish(device_topic(*SOUTH, "events"), b"forged").is_failure
    north.close()


def test_a_client_certificate_is_the_identity_on_the_tls_listener(
    fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    lot_dir = fleet.device_dir("site-2", "lot")
    ca = lot_dir / layout.BROKER_CA
    lot = Session(
        fleet_broker.cert_port,
        "site-2-lot",
        ca_file=ca,
        cert=(lot_dir / layout.CLIENT_CERT, lot_dir / layout.CLIENT_KEY),
    )
    assert lot.accepted
    assert not lot.publish(device_topic("site-2", "lot", "events"), b"own").is_failure
    assert lot.publish(device_topic(*NORTH, "events"), b"forged").is_failure
    lot.close()
    with pytest.raises((OSError, TimeoutError)):  # no client certificate: the TLS handshake fails
        Session(fleet_broker.cert_port, "nocert", ca_file=ca, connack_timeout=2)


def test_the_provisioned_edge_yaml_connects_and_delivers_events(
    fleet: Provisioner, fleet_broker: FleetBroker, tmp_path: Path
) -> None:
    import os

    from common.events import ModelVersions, PlateEvent
    from common.events import utc_now as now
    from common.plates.reading import PlateReading

    config = load_edge_config(fleet.device_dir(*NORTH) / "edge.yaml")
    config = config.model_copy(
        update={"mqtt": config.mqtt.model_copy(update={"port": fleet_broker.plain_port})}
    )
    central = central_session(fleet, fleet_broker.plain_port)
    central.subscribe(CENTRAL_EVENTS_SUBSCRIPTION)
    key = (fleet.device_dir(*NORTH) / layout.STORE_KEY).read_bytes()
    assert len(key) == 32 and os.stat(fleet.device_dir(*NORTH) / layout.STORE_KEY).st_mode & 0o777 == 0o600
    with EventStore(tmp_path / "events.db", key) as store:
        event = PlateEvent(
            site_id=NORTH[0],
            device_id=NORTH[1],
            channel_id="cam1",
            captured_at=now(),
            first_seen=now(),
            last_seen=now(),
            plate=PlateReading(confidence=0.9, text="А123ВС77", latin="A123BC77"),
            confidence=0.9,
            box=(1, 2, 3, 4),
            frames=2,
            models=ModelVersions(detector="d", reader="r"),
        )
        store.add(event)
        publisher = SyncPublisher(config, store, agent_version="test")
        publisher.start()
        deadline = time.monotonic() + 10
        while not central.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [json.loads(m.payload)["event_id"] for m in central.messages] == [str(event.event_id)]
        assert store.pending_count() == 1  # delivered, but central has not confirmed it yet
        # The ACL lets central write the device's receipts and the device read them.
        receipt = EventReceipt(site_id=NORTH[0], device_id=NORTH[1], at=now(), stored=[event.event_id])
        assert not central.publish(device_topic(*NORTH, "receipts"), receipt.to_json()).is_failure
        deadline = time.monotonic() + 10
        while store.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        publisher.stop()
        assert store.pending_count() == 0
    central.close()


def test_a_revoked_client_certificate_is_refused_through_the_crl(
    fleet: Provisioner, fleet_broker: FleetBroker
) -> None:
    lot_dir = fleet.device_dir("site-2", "lot")

    def connect() -> Session:
        return Session(
            fleet_broker.cert_port,
            "site-2-lot",
            ca_file=lot_dir / layout.BROKER_CA,
            cert=(lot_dir / layout.CLIENT_CERT, lot_dir / layout.CLIENT_KEY),
            connack_timeout=2,
        )

    before = connect()
    assert before.accepted
    before.close()
    fleet.revoke("site-2/lot")
    fleet_broker.broker.restart()  # the listener loads its CRL at start
    with pytest.raises((OSError, TimeoutError)):
        connect()
    deadline = time.monotonic() + 5  # the broker logs the refusal a moment after the client sees it
    while "certificate verify failed" not in fleet_broker.broker.log_text():
        assert time.monotonic() < deadline, "the broker did not log a certificate verification failure"
        time.sleep(0.05)


def test_events_refused_by_the_acl_stay_in_the_outbox(
    fleet: Provisioner, fleet_broker: FleetBroker, tmp_path: Path
) -> None:
    """North's credentials with south's identity: the broker refuses, nothing is marked synced."""
    from common.events import ModelVersions, PlateEvent
    from common.events import utc_now as now
    from common.plates.reading import PlateReading

    config = load_edge_config(fleet.device_dir(*NORTH) / "edge.yaml")
    config = config.model_copy(
        update={
            "device_id": SOUTH[1],
            "mqtt": config.mqtt.model_copy(update={"port": fleet_broker.plain_port}),
        }
    )
    with EventStore(tmp_path / "events.db", bytes(32)) as store:
        for _ in range(3):
            store.add(
                PlateEvent(
                    site_id=SOUTH[0],
                    device_id=SOUTH[1],
                    channel_id="cam1",
                    captured_at=now(),
                    first_seen=now(),
                    last_seen=now(),
                    plate=PlateReading(confidence=0.9, text="А123ВС77", latin="A123BC77"),
                    confidence=0.9,
                    box=(1, 2, 3, 4),
                    frames=2,
                    models=ModelVersions(detector="d", reader="r"),
                )
            )
        publisher = SyncPublisher(config, store, agent_version="test")
        publisher.start()
        deadline = time.monotonic() + 10
        while publisher.counters().rejected < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        publisher.stop()
        counters = publisher.counters()
        assert (counters.rejected, counters.acked, store.pending_count()) == (3, 0, 3)
        assert "Not authorized" in (counters.last_error or "")
