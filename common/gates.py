"""Gate control settings (part of the edge config) and the gate decision message.

A gate is one or more camera channels plus rules: a plate on an allow list opens it, a plate on a
deny list keeps it closed and raises an alert, an unknown plate gets the gate's own policy
(closed unless configured otherwise). What "open" means physically is the gate's outputs: an MQTT
command, an HTTP relay, a Modbus TCP coil or a GPIO line (edge/gates/outputs/).

Every decision is a `GateDecision`: stored encrypted on the box, then sent to central on
`anpr/v1/{site}/{device}/decisions` like plate events.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from common.events import Base64Bytes, _decode_base64
from common.ids import uuid7
from common.messages import MESSAGE_SCHEMA_VERSION, Identifier, UtcDatetime
from common.plates.reading import PlateReading

GATE_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _OutputBase(_Section):
    name: str = Field(default="", max_length=64, description="shown in decisions and alerts")
    attempts: int = Field(default=3, ge=1, le=10, description="tries before the output counts as failed")
    retry_delay_s: float = Field(default=0.1, ge=0, le=5, description="pause between tries")
    timeout_s: float = Field(default=1.0, gt=0, le=30, description="each try gives up after this long")


class MqttCommandOutput(_OutputBase):
    """Publish an open command (JSON) to an MQTT topic, QoS 1, and wait for the broker's PUBACK."""

    type: Literal["mqtt"] = "mqtt"
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password_file: Path | None = Field(default=None, description="file holding the broker password")
    topic: str = Field(min_length=1, max_length=256, description="e.g. site1/gates/north/command")
    retain: bool = False

    @field_validator("topic")
    @classmethod
    def _no_wildcards(cls, value: str) -> str:
        if "+" in value or "#" in value:
            raise ValueError("a command topic cannot hold MQTT wildcards")
        return value


class HttpRelayOutput(_OutputBase):
    """Call an HTTP relay (network relay boards, a PLC gateway, a door controller's API)."""

    type: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://", description="http(s)://host[:port]/path")
    method: Literal["GET", "POST", "PUT"] = "POST"
    auth: Literal["none", "basic", "bearer"] = "none"
    username: str | None = Field(default=None, description="for basic auth")
    secret_file: Path | None = Field(
        default=None, description="file holding the basic-auth password or the bearer token (never in config)"
    )
    json_body: bool = Field(default=True, description="POST/PUT send the command as JSON")

    @model_validator(mode="after")
    def _auth_complete(self) -> HttpRelayOutput:
        if self.auth != "none" and self.secret_file is None:
            raise ValueError(f"auth {self.auth} needs secret_file")
        if self.auth == "basic" and not self.username:
            raise ValueError("basic auth needs username")
        return self


class ModbusCoilOutput(_OutputBase):
    """Write a coil on a Modbus TCP device (relay modules, PLCs): on, and off after `pulse_s`."""

    type: Literal["modbus"] = "modbus"
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=247, description="Modbus unit (slave) id")
    coil: int = Field(ge=0, le=65535, description="coil address, 0-based")
    pulse_s: float = Field(default=1.0, ge=0, le=60, description="off again after this; 0: stays on")


class GpioOutput(_OutputBase):
    """Drive a GPIO line through libgpiod (a relay HAT on the box): active, then inactive after `pulse_s`."""

    type: Literal["gpio"] = "gpio"
    chip: str = Field(default="/dev/gpiochip0", description="gpiochip device path")
    line: int = Field(ge=0, le=1023, description="line offset on the chip")
    active_low: bool = False
    pulse_s: float = Field(default=1.0, gt=0, le=60)


GateOutputSettings = Annotated[
    MqttCommandOutput | HttpRelayOutput | ModbusCoilOutput | GpioOutput, Field(discriminator="type")
]
OUTPUT_TYPES: tuple[str, ...] = ("mqtt", "http", "modbus", "gpio")


class GateConfig(_Section):
    id: str = Field(pattern=GATE_ID_PATTERN, description="gate id, unique on the device; lists name it")
    channels: list[str] = Field(min_length=1, description="camera ids that watch this gate")
    unknown_policy: Literal["closed", "open"] = Field(
        default="closed", description="what a plate on no list gets"
    )
    min_confidence: float = Field(
        default=0.7, ge=0, le=1, description="the first format-valid reading at least this confident decides"
    )
    debounce_s: float = Field(
        default=30.0, ge=0, le=3600, description="the same plate at this gate within this time decides once"
    )
    outputs: list[GateOutputSettings] = Field(default_factory=list, max_length=8)

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each channel may be named once per gate")
        return value


class HomeAssistantConfig(_Section):
    """Home Assistant MQTT discovery (off by default): the box appears as a device in HA."""

    enabled: bool = False
    open_button: bool = Field(
        default=False,
        description="a button per gate that opens it (whoever may publish its command topic opens the gate)",
    )
    discovery_prefix: str = Field(default="homeassistant", pattern=r"^[A-Za-z0-9_/-]{1,64}$")


class GatesConfig(_Section):
    gates: list[GateConfig] = Field(default_factory=list, max_length=16)
    watchlist_cache: Path | None = Field(
        default=None, description="cached watchlist bundle; default: watchlists.json beside the config"
    )

    @field_validator("gates")
    @classmethod
    def _unique_ids(cls, gates: list[GateConfig]) -> list[GateConfig]:
        ids = [g.id for g in gates]
        if len(set(ids)) != len(ids):
            raise ValueError("a gate id is used twice")
        return gates


# --- the decision -----------------------------------------------------------------------------------

GateAction = Literal["open", "closed"]
# manual: opened on request (Home Assistant's button), not by a plate.
GateRule = Literal["allow-list", "deny-list", "unknown-open", "unknown-closed", "manual"]


class DecisionMatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    list_id: str = Field(max_length=64)
    list_name: str = Field(max_length=128)
    kind: Literal["allow", "deny", "alert"]
    plate: str = Field(max_length=32, description="the entry's stored plate")
    mode: Literal["exact", "fuzzy"]


class OutputResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(max_length=64)
    type: str = Field(max_length=16)
    ok: bool
    attempts: int = Field(ge=0)
    error: str | None = Field(default=None, max_length=1024)
    sent_at: UtcDatetime | None = Field(default=None, description="when the successful command went out")


class GateDecision(BaseModel):
    """What a gate did about one vehicle: the reading, the rule that decided, what the outputs did.

    A manual open (rule "manual") has no plate; `requested_by` says who asked.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = MESSAGE_SCHEMA_VERSION
    decision_id: uuid.UUID = Field(default_factory=uuid7)
    site_id: Identifier
    device_id: Identifier
    gate_id: Identifier
    channel_id: Identifier
    track_id: int = Field(ge=0, description="0 for a manual open")
    plate: PlateReading | None = Field(description="the deciding reading; null for a manual open")
    action: GateAction
    rule: GateRule
    alert: bool = Field(description="a deny hit or an alert-list hit: someone should be told")
    matches: tuple[DecisionMatch, ...] = ()
    watchlist_version: int = Field(ge=0)
    captured_at: UtcDatetime = Field(description="capture time of the frame whose reading decided")
    decided_at: UtcDatetime
    outputs: tuple[OutputResult, ...] = ()
    latency_ms: float | None = Field(
        default=None, ge=0, description="deciding frame received -> first output command sent"
    )
    crop_jpeg: Base64Bytes | None = None
    requested_by: str | None = Field(default=None, max_length=64, description="who asked for a manual open")

    @model_validator(mode="after")
    def _plate_unless_manual(self) -> GateDecision:
        if (self.plate is None) != (self.rule == "manual"):
            raise ValueError("a decision has a plate unless it is a manual open, which has none")
        return self

    @field_validator("crop_jpeg", mode="before")
    @classmethod
    def _crop_from_base64(cls, value: object) -> object:
        return _decode_base64(value)

    @property
    def outputs_ok(self) -> bool:
        return all(o.ok for o in self.outputs)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")
