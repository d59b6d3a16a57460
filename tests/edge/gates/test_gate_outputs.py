"""Each gate output against a real counterpart: HTTP relay server, pymodbus server, Mosquitto, gpio-sim."""

from __future__ import annotations

import base64
import glob
import json
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from standins import HttpRelayStandIn, ModbusStandIn, free_port

from common.gates import GpioOutput, HttpRelayOutput, ModbusCoilOutput, MqttCommandOutput
from edge.gates.outputs import GateCommand, OutputError, build_output
from provisioning.local_broker import LocalBroker

COMMAND = GateCommand("north", "0193a5c0-0000-7000-8000-000000000001", "site-1", "edge1")


def test_http_relay_bearer_token_comes_from_a_file(relay: HttpRelayStandIn, tmp_path: Path) -> None:
    token = tmp_path / "relay.token"
    token.write_text("s3cret-token\n")
    output = build_output(HttpRelayOutput(url=relay.url, auth="bearer", secret_file=token))
    try:
        output.send(COMMAND)
        output.send(COMMAND)  # the kept-alive connection serves the second command
    finally:
        output.close()
    first, second = relay.wait_for(2)
    assert first.headers["Authorization"] == "Bearer s3cret-token"
    assert first.body == COMMAND.as_json() and second.body == COMMAND.as_json()


def test_http_relay_basic_auth_and_get(relay: HttpRelayStandIn, tmp_path: Path) -> None:
    secret = tmp_path / "relay.pw"
    secret.write_text("pw")
    settings = HttpRelayOutput(
        url=relay.url + "?state=on", method="GET", auth="basic", username="admin", secret_file=secret
    )
    output = build_output(settings)
    output.send(COMMAND)
    output.close()
    request = relay.wait_for(1)[0]
    assert request.method == "GET" and request.path == "/relay/1?state=on" and request.body is None
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"admin:pw").decode()


def test_http_relay_recovers_from_a_connection_the_relay_dropped(relay: HttpRelayStandIn) -> None:
    relay.drop_connections = True
    output = build_output(HttpRelayOutput(url=relay.url, attempts=1))
    try:
        for _ in range(3):  # each command after the first meets a stale socket and reconnects
            output.send(COMMAND)
    finally:
        output.close()
    assert len(relay.wait_for(3)) == 3


def test_http_relay_errors_say_what_failed(tmp_path: Path) -> None:
    dead = build_output(HttpRelayOutput(url=f"http://127.0.0.1:{free_port()}/x", timeout_s=0.5))
    with pytest.raises(OutputError, match=r"POST http://127\.0\.0\.1"):
        dead.send(COMMAND)
    with pytest.raises(OutputError, match="cannot read secret_file"):
        build_output(HttpRelayOutput(url="http://127.0.0.1/x", auth="bearer", secret_file=tmp_path / "none"))


def test_modbus_coil_pulses(modbus: ModbusStandIn) -> None:
    output = build_output(ModbusCoilOutput(host="127.0.0.1", port=modbus.port, coil=5, pulse_s=0.2))
    try:
        output.send(COMMAND)
        assert modbus.coil(5)
        modbus.wait_for(lambda: len(modbus.writes) >= 2)
        assert [(coil, value) for coil, value, _ in modbus.writes] == [(5, True), (5, False)]
        on_at, off_at = modbus.writes[0][2], modbus.writes[1][2]
        assert off_at - on_at >= 0.2
    finally:
        output.close()


def test_modbus_close_switches_a_pulsing_coil_off(modbus: ModbusStandIn) -> None:
    output = build_output(ModbusCoilOutput(host="127.0.0.1", port=modbus.port, coil=2, pulse_s=30))
    output.send(COMMAND)
    assert modbus.coil(2)
    output.close()
    assert not modbus.coil(2)


def test_modbus_unreachable_device_is_an_output_error() -> None:
    output = build_output(ModbusCoilOutput(host="127.0.0.1", port=free_port(), coil=0, timeout_s=0.5))
    try:
        with pytest.raises(OutputError, match="cannot connect to Modbus device"):
            output.send(COMMAND)
    finally:
        output.close()


def test_mqtt_command_is_published_and_acknowledged(broker: LocalBroker) -> None:
    received: list[mqtt.MQTTMessage] = []
    arrived = threading.Event()
    subscribed = threading.Event()
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"gate-test-{free_port()}", protocol=mqtt.MQTTv5
    )
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = lambda c, u, message: (received.append(message), arrived.set())
    client.connect(broker.host, broker.port)
    client.subscribe("site-1/gates/north/command", qos=1)
    client.loop_start()
    output = build_output(
        MqttCommandOutput(host=broker.host, port=broker.port, topic="site-1/gates/north/command", timeout_s=5)
    )
    try:
        assert subscribed.wait(5)
        output.send(COMMAND)
        assert arrived.wait(5)
    finally:
        output.close()
        client.loop_stop()
        client.disconnect()
    assert json.loads(received[0].payload) == COMMAND.as_json()


def test_mqtt_command_without_a_broker_fails_within_its_timeout() -> None:
    output = build_output(MqttCommandOutput(port=free_port(), topic="x/y", timeout_s=0.3))
    try:
        with pytest.raises(OutputError, match="not connected"):
            output.send(COMMAND)
    finally:
        output.close()


def _gpio_sim_chip() -> str | None:
    """A gpio-sim chip (the kernel's GPIO simulator), if this machine has one configured."""
    for label_file in glob.glob("/sys/bus/gpio/devices/gpiochip*/label"):
        if Path(label_file).read_text().startswith("gpio-sim"):
            return "/dev/" + Path(label_file).parent.name
    return None


def test_gpio_line_drives_a_simulated_chip() -> None:
    chip = _gpio_sim_chip()
    if chip is None:
        pytest.skip("no gpio-sim chip on this machine (modprobe gpio-sim and configure a bank via configfs)")
    output = build_output(GpioOutput(chip=chip, line=0, pulse_s=0.1))
    try:
        output.send(COMMAND)
    finally:
        output.close()


def test_gpio_without_the_chip_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot claim"):
        build_output(GpioOutput(chip=str(tmp_path / "gpiochip9"), line=0))
