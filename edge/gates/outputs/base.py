"""What every gate output is: something that sends one open command and says whether it went out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class OutputError(Exception):
    """A command that did not go out (or was refused); the text says why, for the decision record."""


@dataclass(frozen=True)
class GateCommand:
    """The command an output sends: open `gate_id`, because of decision `decision_id`."""

    gate_id: str
    decision_id: str
    site_id: str
    device_id: str

    def as_json(self) -> dict[str, str]:
        # No plate: a relay needs to know what to do, not who came (plates are personal data).
        return {
            "command": "open",
            "gate": self.gate_id,
            "decision_id": self.decision_id,
            "site": self.site_id,
            "device": self.device_id,
        }


class GateOutput(Protocol):
    """One physical or network output of a gate; built from its settings by edge.gates.outputs.build."""

    name: str
    type: str

    def send(self, command: GateCommand) -> None:
        """Send the open command once; raise OutputError when it did not take effect."""
        ...

    def close(self) -> None: ...
