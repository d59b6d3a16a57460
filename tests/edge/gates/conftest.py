"""Fixtures of the gate tests: real local stand-ins for relays and a private Mosquitto."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from standins import HttpRelayStandIn, ModbusStandIn

from provisioning.local_broker import LocalBroker, find_mosquitto


@pytest.fixture
def relay() -> Iterator[HttpRelayStandIn]:
    standin = HttpRelayStandIn()
    yield standin
    standin.close()


@pytest.fixture
def modbus() -> Iterator[ModbusStandIn]:
    logging.getLogger("pymodbus").setLevel(logging.ERROR)  # its deprecation notices, once per server
    standin = ModbusStandIn()
    yield standin
    standin.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.stop()
