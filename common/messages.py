"""Versioned JSON payloads for the non-event MQTT topics (see docs/mqtt.md).

    anpr/v1/{site}/{device}/status      DeviceStatus  (retained; the "offline" one is the Last Will)
    anpr/v1/{site}/{device}/config      ConfigPush    (retained, published by central)
    anpr/v1/{site}/{device}/config/ack  ConfigAck     (the device's answer to a ConfigPush)
    anpr/v1/{site}/{device}/config/effective  EffectiveConfig (retained: the config the device runs)
    anpr/v1/{site}/{device}/stats       DeviceStats   (periodic counters)
    anpr/v1/{site}/{device}/watchlists      WatchlistPush (retained, published by central)
    anpr/v1/{site}/{device}/watchlists/ack  WatchlistAck
    anpr/v1/{site}/{device}/decisions   GateDecision  (common.gates; QoS 1, from the box's store)
    anpr/v1/{site}/{device}/receipts    EventReceipt  (central: these events and decisions are committed)

Events travel as `common.events.PlateEvent`. Every model forbids unknown fields and carries
`schema_version`, so a subscriber can tell a newer contract from a malformed message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

MESSAGE_SCHEMA_VERSION = 1
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Versions are stored by central as 32-bit integers; a push with a huge version would also lock a
# device out of every later push, so the range is closed.
MAX_CONFIG_VERSION = 2**31 - 1
ConfigVersion = Annotated[int, Field(ge=1, le=MAX_CONFIG_VERSION)]
# A pushed config is small YAML; anything near this size is a mistake or an attack.
MAX_CONFIG_PUSH_BYTES = 256 * 1024


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone (UTC)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]
Counter = Annotated[int, Field(ge=0)]


def utc_now() -> datetime:
    return datetime.now(UTC)


class MessageError(ValueError):
    """A payload that is not a valid message of the expected kind; the text says why."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = MESSAGE_SCHEMA_VERSION

    def to_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class DeviceStatus(_Message):
    """Whether a device is connected. Retained, so a new subscriber learns it at once.

    The "offline" message with reason "connection-lost" is registered as the MQTT Last Will at
    connect time, so its `at` is the time the session began, not the time it ended; the broker
    publishes it when the device vanishes. A clean shutdown publishes "offline"/"shutdown" itself.
    """

    site_id: Identifier
    device_id: Identifier
    state: Literal["online", "offline"]
    reason: Literal["connected", "shutdown", "connection-lost"]
    at: UtcDatetime
    agent_version: str = Field(min_length=1, max_length=64)
    config_version: ConfigVersion | None = Field(default=None, description="the config version running")
    models: dict[Identifier, str] = Field(
        default_factory=dict, description="model name -> version, e.g. detector, reader"
    )

    @model_validator(mode="after")
    def _reason_fits_state(self) -> DeviceStatus:
        if (self.state == "online") != (self.reason == "connected"):
            raise ValueError(f"reason {self.reason!r} does not fit state {self.state!r}")
        return self


ConfigHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ConfigPush(_Message):
    """A config change for one device, published retained by central.

    `patch` is an RFC 7396 JSON merge patch against the config the device reported
    (EffectiveConfig), whose hash is `base_hash`: the device refuses the push if its config has
    changed since (the patch was checked against another config). The device applies it with
    `common.config_push.apply_patch`, the rules central checked it with. Keys not named keep their
    values; `null` removes a key (back to its default).
    """

    version: ConfigVersion
    patch: dict[str, Any]
    base_hash: ConfigHash = Field(description="hash of the reported config the patch was made against")
    issued_at: UtcDatetime
    issued_by: str = Field(min_length=1, max_length=128, description="user or service that pushed it")

    @model_validator(mode="after")
    def _versions_agree(self) -> ConfigPush:
        inner = self.patch.get("version")
        if inner is not None and inner != self.version:
            raise ValueError(f"patch.version {inner!r} differs from the push version {self.version}")
        return self


class EffectiveConfig(_Message):
    """The config a device runs, published retained on connect and after every applied push.

    `config` is the whole EdgeConfig with defaults filled in and secrets redacted
    (`common.config_push.redacted`); `hash` is `common.config_push.config_hash` of it.
    """

    site_id: Identifier
    device_id: Identifier
    at: UtcDatetime
    version: ConfigVersion
    hash: ConfigHash
    config: dict[str, Any]

    @model_validator(mode="after")
    def _versions_agree(self) -> EffectiveConfig:
        if self.config.get("version") != self.version:
            inner = self.config.get("version")
            raise ValueError(f"config.version {inner!r} differs from version {self.version}")
        return self


ConfigOutcome = Literal["applied", "rejected", "stale"]


class ConfigAck(_Message):
    """The device's answer to a ConfigPush, published (not retained) on `config/ack`.

    outcome "applied": the new config is written and reloaded (accepted is True).
    outcome "rejected": the config is invalid; `reason` says why; the old config keeps running.
    outcome "stale": the version is not newer than `running_version` (for example the retained
    push delivered again after a reconnect); nothing changed.
    `running_version` is the version the device runs after handling the push, so central can see
    a config is in effect from any ack, stale ones included.
    """

    site_id: Identifier
    device_id: Identifier
    version: ConfigVersion = Field(description="the pushed version this answers")
    accepted: bool
    outcome: ConfigOutcome
    reason: str | None = Field(default=None, max_length=4096)
    running_version: ConfigVersion
    applied_at: UtcDatetime = Field(description="when the device handled the push")

    @model_validator(mode="after")
    def _consistent(self) -> ConfigAck:
        if self.accepted != (self.outcome == "applied"):
            raise ValueError(f"accepted={self.accepted} contradicts outcome {self.outcome!r}")
        if self.outcome != "applied" and not self.reason:
            raise ValueError(f"a {self.outcome} ack must give a reason")
        if self.outcome == "applied" and self.running_version != self.version:
            raise ValueError("an applied ack must report the pushed version as running")
        return self


class ChannelStats(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fps: float = Field(ge=0, description="frames processed per second over the last interval")
    frames: Counter = Field(description="frames processed since start")
    events: Counter = Field(description="events made since start")
    online: bool = Field(description="the source is delivering frames")
    dropped: Counter = Field(default=0, description="frames the camera delivered faster than they were read")


class DeviceStats(_Message):
    """Periodic counters; totals count from agent start, so a drop means a restart."""

    site_id: Identifier
    device_id: Identifier
    at: UtcDatetime
    uptime_s: float = Field(ge=0)
    config_version: ConfigVersion | None = None
    frames: Counter
    events: Counter
    outbox_pending: Counter = Field(description="events stored but not yet confirmed by a central receipt")
    published: Counter = Field(description="event publishes sent, re-sends included")
    acked: Counter = Field(description="event publishes acknowledged by the broker (PUBACK)")
    confirmed: Counter = Field(default=0, description="events confirmed by a central receipt")
    retries: Counter = Field(description="event re-sends after a lost connection or a missing receipt")
    reconnects: Counter
    channels: dict[Identifier, ChannelStats] = Field(default_factory=dict)
    disk_free_bytes: Counter | None = Field(default=None, description="free space where the outbox lives")
    disk_total_bytes: Counter | None = None
    certificate_expires_at: UtcDatetime | None = Field(
        default=None, description="when the device's MQTT client certificate expires, if it uses one"
    )


# Receipts are batched per device and per ingest batch; one receipt never lists more than this.
MAX_RECEIPT_EVENTS = 1000


class EventReceipt(_Message):
    """Central's word that events are in its database, published (QoS 1) on the device's `receipts`.

    Sent after the database commit of the batch that held the events. `stored` lists events now
    in the database: newly written or already there with the same content (a re-send). `conflicts`
    lists events whose id is already stored with different content: central keeps the first and
    dead-letters the newcomer (kind "conflict"); re-sending it cannot help, so the device stops.
    The device keeps an event in its outbox until a receipt names it; a broker PUBACK only says
    the broker has the message, which a broker crash can still lose. `decisions` does the same for
    gate decisions (common.gates.GateDecision, stored by decision id, a re-send confirmed again).
    """

    site_id: Identifier
    device_id: Identifier
    at: UtcDatetime
    stored: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_RECEIPT_EVENTS)
    conflicts: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_RECEIPT_EVENTS)
    decisions: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_RECEIPT_EVENTS)

    @model_validator(mode="after")
    def _not_empty(self) -> EventReceipt:
        if not self.stored and not self.conflicts and not self.decisions:
            raise ValueError("a receipt names at least one event or decision")
        if len(self.stored) + len(self.conflicts) + len(self.decisions) > MAX_RECEIPT_EVENTS:
            raise ValueError(f"a receipt names at most {MAX_RECEIPT_EVENTS} events and decisions")
        return self

    def to_json(self) -> bytes:
        # A box without gates may run an agent older than `decisions` (its models forbid unknown
        # fields): a receipt without decisions leaves the field out.
        exclude = {"decisions"} if not self.decisions else None
        return self.model_dump_json(exclude=exclude).encode("utf-8")


MessageT = TypeVar("MessageT", bound=_Message)


def decode_message(model: type[MessageT], payload: bytes | str) -> MessageT:
    """Parse one payload as `model`; MessageError names every bad field."""
    return decode_sized_message(model, payload, MAX_CONFIG_PUSH_BYTES)


# A box's watchlist bundle can be large (tens of thousands of entries): its own, wider limit.
MAX_WATCHLIST_PUSH_BYTES = 16 * 1024 * 1024


class WatchlistPush(_Message):
    """The whole watchlist bundle of one device, published retained by central on `watchlists`.

    `bundle` is a `common.watchlists.WatchlistBundle` as a mapping; its version equals `version`.
    The device validates it, caches it beside its config and answers with a WatchlistAck.
    """

    version: ConfigVersion
    bundle: dict[str, Any]
    issued_at: UtcDatetime
    issued_by: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _versions_agree(self) -> WatchlistPush:
        inner = self.bundle.get("version")
        if inner is not None and inner != self.version:
            raise ValueError(f"bundle.version {inner!r} differs from the push version {self.version}")
        return self


class WatchlistAck(_Message):
    """The device's answer to a WatchlistPush, on `watchlists/ack`; outcomes as for ConfigAck."""

    site_id: Identifier
    device_id: Identifier
    version: ConfigVersion
    accepted: bool
    outcome: ConfigOutcome
    reason: str | None = Field(default=None, max_length=4096)
    running_version: int = Field(ge=0, le=MAX_CONFIG_VERSION, description="0: no lists yet")
    entries: Counter = Field(default=0, description="entries in the running bundle")
    applied_at: UtcDatetime

    @model_validator(mode="after")
    def _consistent(self) -> WatchlistAck:
        if self.accepted != (self.outcome == "applied"):
            raise ValueError(f"accepted={self.accepted} contradicts outcome {self.outcome!r}")
        if self.outcome != "applied" and not self.reason:
            raise ValueError(f"a {self.outcome} ack must give a reason")
        return self


def decode_sized_message(model: type[MessageT], payload: bytes | str, limit: int) -> MessageT:
    """decode_message with a size limit of its own (watchlist bundles outgrow config pushes)."""
    if len(payload) > limit:
        raise MessageError(f"{model.__name__}: payload of {len(payload)} bytes is too large")
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise MessageError(f"{model.__name__}: {problems}") from exc
