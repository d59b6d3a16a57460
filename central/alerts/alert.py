"""What an alert says, built from a gate decision or a device going offline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from common.gates import GateDecision
from common.messages import DeviceStatus


class AlertPayload(BaseModel):
    """What a webhook receives, as JSON; the crop is fetched from central's API (viewer login)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    alert_id: uuid.UUID = Field(description="stable per cause: the same on every retry and redelivery")
    kind: Literal["deny", "watchlist", "output_failed", "device_offline"]
    site_id: str
    device_id: str
    at: datetime = Field(description="UTC")
    local_time: str = Field(description="the same moment in the site's time zone, for people")
    plate: str | None = None
    lists: list[str] = Field(default_factory=list, description="names of the lists that matched")
    camera: str | None = None
    gate: str | None = None
    decision_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = Field(
        default=None, description="the plate event, for hits at cameras without a gate"
    )
    crop_url: str | None = Field(default=None, description="path of the plate crop on central")
    detail: str | None = None


@dataclass(frozen=True)
class Alert:
    alert_id: uuid.UUID
    kind: str  # central.alerts.settings.AlertKind
    site_id: str
    device_id: str
    at: datetime  # UTC
    local_time: str  # in the site's time zone, for people
    plate: str | None = None
    lists: tuple[str, ...] = ()
    camera: str | None = None
    gate: str | None = None
    decision_id: uuid.UUID | None = None
    detail: str | None = None
    crop_jpeg: bytes | None = None
    event_id: uuid.UUID | None = None

    def payload(self) -> dict[str, Any]:
        """The webhook JSON (AlertPayload; docs/schemas/alert_webhook.schema.json)."""
        crop_url = None
        if self.crop_jpeg and self.decision_id:
            crop_url = f"/api/v1/decisions/{self.decision_id}/crop.jpg"
        elif self.crop_jpeg and self.event_id:
            crop_url = f"/api/v1/events/{self.event_id}/crop.jpg"
        return AlertPayload(
            alert_id=self.alert_id,
            kind=self.kind,
            site_id=self.site_id,
            device_id=self.device_id,
            at=self.at,
            local_time=self.local_time,
            plate=self.plate,
            lists=list(self.lists),
            camera=self.camera,
            gate=self.gate,
            decision_id=self.decision_id,
            event_id=self.event_id,
            crop_url=crop_url,
            detail=self.detail,
        ).model_dump(mode="json")

    def caption(self) -> str:
        title = {
            "deny": "Deny-listed plate at a gate",
            "watchlist": "Watchlist hit",
            "output_failed": "Gate output failed",
            "device_offline": "Device offline",
        }.get(self.kind, self.kind)
        lines = [title]
        if self.plate:
            lines.append(f"Plate: {self.plate}")
        if self.lists:
            lines.append(f"List: {', '.join(self.lists)}")
        lines.append(f"Site: {self.site_id}")
        where = self.camera or self.device_id
        lines.append(f"Camera: {where}" + (f" (gate {self.gate})" if self.gate else ""))
        lines.append(f"Time: {self.local_time}")
        if self.detail:
            lines.append(self.detail)
        return "\n".join(lines)


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def alerts_for_decision(decision: GateDecision, zone: str) -> list[Alert]:
    """A deny hit, an alert-list hit and failed outputs each make one alert."""
    out: list[Alert] = []
    common = {
        "site_id": decision.site_id,
        "device_id": decision.device_id,
        "at": decision.decided_at,
        "local_time": _local(decision.decided_at, zone),
        "plate": decision.plate.text if decision.plate is not None else None,
        "camera": decision.channel_id,
        "gate": decision.gate_id,
        "decision_id": decision.decision_id,
        "crop_jpeg": decision.crop_jpeg,
    }
    deny = tuple(m.list_name for m in decision.matches if m.kind == "deny")
    watch = tuple(m.list_name for m in decision.matches if m.kind == "alert")
    if deny:
        out.append(
            Alert(alert_id=uuid.uuid5(decision.decision_id, "deny"), kind="deny", lists=deny, **common)
        )
    if watch:
        out.append(
            Alert(
                alert_id=uuid.uuid5(decision.decision_id, "watchlist"),
                kind="watchlist",
                lists=watch,
                **common,
            )
        )
    failed = [o for o in decision.outputs if not o.ok]
    if failed:
        detail = "; ".join(f"{o.name}: {o.error}" for o in failed)
        out.append(
            Alert(
                alert_id=uuid.uuid5(decision.decision_id, "output"),
                kind="output_failed",
                detail=detail,
                **common,
            )
        )
    return out


def alert_for_offline(status: DeviceStatus, zone: str) -> Alert | None:
    if status.state != "offline" or status.reason != "connection-lost":
        return None  # a clean shutdown is not an alarm
    return Alert(
        alert_id=uuid.uuid5(
            uuid.NAMESPACE_URL, f"offline/{status.site_id}/{status.device_id}/{status.at.isoformat()}"
        ),
        kind="device_offline",
        site_id=status.site_id,
        device_id=status.device_id,
        at=status.at,
        local_time=_local(status.at, zone),
        detail="the broker reported the connection lost",
    )


def alert_for_event(row: dict[str, Any], lists: tuple[str, ...], zone: str, crop: bytes | None) -> Alert:
    """An alert-list hit by a plate event (a camera without a gate: gates alert through decisions)."""
    return Alert(
        alert_id=uuid.uuid5(row["event_id"], "watchlist"),
        kind="watchlist",
        site_id=row["site_id"],
        device_id=row["device_id"],
        at=row["captured_at"],
        local_time=_local(row["captured_at"], zone),
        plate=row["plate_text"],
        lists=lists,
        camera=row["channel_id"],
        event_id=row["event_id"],
        crop_jpeg=crop,
    )
