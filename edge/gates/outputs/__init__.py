"""Gate outputs: plugins behind `GateOutput`, picked by the `type` of their settings.

Each output is a file here, named in OUTPUTS under its settings' type (common.gates holds the
settings, because central validates pushed configs against them). Optional packages (pymodbus,
gpiod: the `gates` extra) are imported only when an output of theirs is built.
"""

from __future__ import annotations

import importlib

from common.gates import GateOutputSettings
from edge.gates.outputs.base import GateCommand, GateOutput, OutputError

# output type -> "module:class"
OUTPUTS: dict[str, str] = {
    "mqtt": "edge.gates.outputs.mqtt_command:MqttCommand",
    "http": "edge.gates.outputs.http_relay:HttpRelay",
    "modbus": "edge.gates.outputs.modbus_coil:ModbusCoil",
    "gpio": "edge.gates.outputs.gpio_line:GpioLine",
}


def build_output(settings: GateOutputSettings) -> GateOutput:
    """The output `settings` describe, ready to send; OutputError when it cannot be set up."""
    if settings.type not in OUTPUTS:
        raise ValueError(f"unknown gate output {settings.type!r}; choose from {sorted(OUTPUTS)}")
    module_name, class_name = OUTPUTS[settings.type].split(":")
    output_class = getattr(importlib.import_module(module_name), class_name)
    return output_class(settings)  # type: ignore[no-any-return]


__all__ = ["OUTPUTS", "GateCommand", "GateOutput", "OutputError", "build_output"]
