"""GPIO output through libgpiod v2 (the `gpiod` package, `gates` extra): a relay HAT on the box.

The line is requested once, at start, as an output held inactive; an open drives it active for
`pulse_s`. On a kernel without the chip the output fails to build with a clear error.
"""

from __future__ import annotations

import logging
import threading

from common.gates import GpioOutput
from edge.gates.outputs.base import GateCommand, OutputError

log = logging.getLogger(__name__)


class GpioLine:
    type = "gpio"

    def __init__(self, settings: GpioOutput) -> None:
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError as exc:
            raise OutputError("the gpio output needs libgpiod's bindings: pip install 'anpr[gates]'") from exc
        self.settings = settings
        self.name = settings.name or "gpio"
        self._active, self._inactive = Value.ACTIVE, Value.INACTIVE
        line_settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, active_low=settings.active_low, output_value=Value.INACTIVE
        )
        try:
            self._request = gpiod.request_lines(
                settings.chip, consumer="anpr-gate", config={settings.line: line_settings}
            )
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot claim {settings.chip} line {settings.line}: {exc}") from exc
        self._lock = threading.Lock()
        self._off_timer: threading.Timer | None = None

    def _set(self, value: object) -> None:
        with self._lock:
            try:
                self._request.set_value(self.settings.line, value)
            except (OSError, ValueError) as exc:
                raise OutputError(f"set {self.settings.chip} line {self.settings.line}: {exc}") from exc

    def send(self, command: GateCommand) -> None:
        self._set(self._active)
        if self._off_timer is not None:
            self._off_timer.cancel()
        self._off_timer = threading.Timer(self.settings.pulse_s, self._switch_off)
        self._off_timer.daemon = True
        self._off_timer.start()

    def _switch_off(self) -> None:
        try:
            self._set(self._inactive)
        except OutputError as exc:
            log.error("gate output %s: releasing the line failed: %s", self.name, exc)

    def close(self) -> None:
        if self._off_timer is not None:
            self._off_timer.cancel()
        self._switch_off()
        self._request.release()
