"""Modbus TCP coil output (pymodbus, the `gates` extra): coil on, and off again after `pulse_s`.

The client stays connected between commands so an open costs one request/response; the switch-off
runs on a timer so the decision does not wait for the pulse.
"""

from __future__ import annotations

import logging
import threading

from common.gates import ModbusCoilOutput
from edge.gates.outputs.base import GateCommand, OutputError

log = logging.getLogger(__name__)


class ModbusCoil:
    type = "modbus"

    def __init__(self, settings: ModbusCoilOutput) -> None:
        try:
            from pymodbus.client import ModbusTcpClient
        except ImportError as exc:  # the extra is not installed on this box
            raise OutputError("the modbus output needs pymodbus: pip install 'anpr[gates]'") from exc
        self.settings = settings
        self.name = settings.name or "modbus"
        # pymodbus' own retries would hide a dead device behind several timeouts: the gate retries.
        self._client = ModbusTcpClient(
            settings.host, port=settings.port, timeout=settings.timeout_s, retries=0
        )
        self._lock = threading.Lock()
        self._off_timer: threading.Timer | None = None

    def _write(self, value: bool) -> None:
        from pymodbus.exceptions import ModbusException

        with self._lock:
            if not self._client.connected and not self._client.connect():
                raise OutputError(
                    f"cannot connect to Modbus device {self.settings.host}:{self.settings.port}"
                )
            try:
                result = self._client.write_coil(self.settings.coil, value, device_id=self.settings.unit)
            except ModbusException as exc:
                self._client.close()
                raise OutputError(f"write coil {self.settings.coil}: {exc}") from exc
            if result.isError():
                raise OutputError(f"device refused write of coil {self.settings.coil}: {result}")

    def send(self, command: GateCommand) -> None:
        self._write(True)
        if self.settings.pulse_s > 0:
            if self._off_timer is not None:
                self._off_timer.cancel()  # a second open extends the pulse
            self._off_timer = threading.Timer(self.settings.pulse_s, self._switch_off)
            self._off_timer.daemon = True
            self._off_timer.start()

    def _switch_off(self) -> None:
        try:
            self._write(False)
        except OutputError as exc:
            log.error("gate output %s: switching coil %d off failed: %s", self.name, self.settings.coil, exc)

    def close(self) -> None:
        if self._off_timer is not None and self._off_timer.is_alive():
            self._off_timer.cancel()
            self._switch_off()  # never leave a gate relay energised behind a stopped agent
        with self._lock:
            self._client.close()
