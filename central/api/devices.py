"""Sites, devices with their online state and channels, and config push."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central import audit, config_push
from central.api.deps import ContextDep, Operator, SessionDep, Viewer, client_address
from central.api.params import DeviceIdPath, IdQuery, control_characters_in, unprocessable
from central.api.schemas import (
    CameraOut,
    ChannelOut,
    ConfigCheckOut,
    ConfigVersionOut,
    DeviceConfigOut,
    DeviceOut,
    EffectiveConfigOut,
    SiteOut,
    device_out,
)
from central.db.models import Channel, Device, DeviceConfig

router = APIRouter(prefix="/api/v1", tags=["devices"])
CONFIG_HISTORY = 20


def _devices(session: Session, ctx: ContextDep, site: str | None = None) -> list[DeviceOut]:
    statement = select(Device).order_by(Device.site_id, Device.device_id)
    if site is not None:
        statement = statement.where(Device.site_id == site)
    devices = list(session.scalars(statement))
    channels: dict[str, list[Channel]] = {}
    for channel in session.scalars(select(Channel).order_by(Channel.channel_id)):
        channels.setdefault(channel.device_id, []).append(channel)
    now = datetime.now(UTC)
    return [device_out(d, channels.get(d.device_id, []), now, ctx.config.online_timeout_s) for d in devices]


def _device_or_404(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such device")
    return device


@router.get("/sites")
def sites(_user: Viewer, session: SessionDep, ctx: ContextDep) -> list[SiteOut]:
    out: dict[str, SiteOut] = {}
    for device in _devices(session, ctx):
        site = out.setdefault(
            device.site_id, SiteOut(site_id=device.site_id, devices=0, online=0, last_seen=None)
        )
        site.devices += 1
        site.online += device.online
        if device.last_seen and (site.last_seen is None or device.last_seen > site.last_seen):
            site.last_seen = device.last_seen
    return list(out.values())


@router.get("/cameras")
def cameras(_user: Viewer, session: SessionDep, site: IdQuery = None) -> list[CameraOut]:
    """Every camera (device channel) central has heard of, with its site: the search pick-lists."""
    statement = (
        select(Device.site_id, Channel.device_id, Channel.channel_id, Channel.last_event_at)
        .join(Device, Device.device_id == Channel.device_id)
        .order_by(Device.site_id, Channel.device_id, Channel.channel_id)
    )
    if site is not None:
        statement = statement.where(Device.site_id == site)
    return [
        CameraOut(
            site_id=r.site_id, device_id=r.device_id, channel_id=r.channel_id, last_event_at=r.last_event_at
        )
        for r in session.execute(statement)
    ]


@router.get("/devices")
def devices(
    _user: Viewer,
    session: SessionDep,
    ctx: ContextDep,
    site: IdQuery = None,
) -> list[DeviceOut]:
    return _devices(session, ctx, site)


@router.get("/devices/{device_id}")
def device(device_id: DeviceIdPath, _user: Viewer, session: SessionDep, ctx: ContextDep) -> DeviceOut:
    found = _device_or_404(session, device_id)
    channels = list(
        session.scalars(select(Channel).where(Channel.device_id == device_id).order_by(Channel.channel_id))
    )
    return device_out(found, channels, datetime.now(UTC), ctx.config.online_timeout_s)


@router.get("/devices/{device_id}/channels")
def device_channels(device_id: DeviceIdPath, _user: Viewer, session: SessionDep) -> list[ChannelOut]:
    _device_or_404(session, device_id)
    channels = session.scalars(
        select(Channel).where(Channel.device_id == device_id).order_by(Channel.channel_id)
    )
    return [ChannelOut.from_row(c) for c in channels]


@router.get("/devices/{device_id}/config")
def device_config(device_id: DeviceIdPath, _user: Viewer, session: SessionDep) -> DeviceConfigOut:
    found = _device_or_404(session, device_id)
    history = list(
        session.scalars(
            select(DeviceConfig)
            .where(DeviceConfig.device_id == device_id)
            .order_by(DeviceConfig.version.desc())
            .limit(CONFIG_HISTORY)
        )
    )
    versions = [ConfigVersionOut.from_row(row) for row in history]
    return DeviceConfigOut(
        device_id=device_id,
        running_version=found.config_version,
        effective=EffectiveConfigOut.from_device(found),
        latest=versions[0] if versions else None,
        history=versions,
    )


PatchBody = Annotated[
    dict[str, Any],
    Body(
        description=(
            "an RFC 7396 JSON merge patch against the device's reported effective config "
            "(GET .../config: `effective.config`): named keys are set, null removes a key, "
            "others keep their values; lists are replaced whole"
        )
    ),
]


@contextmanager
def _refusals_as_http() -> Iterator[None]:
    """A patch the device would refuse -> 422 naming the field; no report yet -> 409."""
    try:
        yield
    except config_push.NoReportedConfigError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except config_push.ConfigPushError as exc:
        field = () if exc.field == "(top level)" else tuple(exc.field.split("."))
        raise unprocessable(("body", *field), str(exc)) from exc


def _refuse_control_characters(patch: dict[str, Any]) -> None:
    where = control_characters_in(patch, ("body",))
    if where is not None:
        raise unprocessable(where, "control characters are not allowed in a config (tab and newline are)")


@router.post("/devices/{device_id}/config/check")
def check_config(
    device_id: DeviceIdPath, user: Operator, session: SessionDep, patch: PatchBody
) -> ConfigCheckOut:
    """Check a merge patch as a push would be checked, without pushing: the merged config or the 422.

    Nothing is stored, published or audited: the audit log records changes and this changes
    nothing. Operators only, as it is the first half of a push."""
    _refuse_control_characters(patch)
    found = _device_or_404(session, device_id)
    with _refusals_as_http():
        version, merged = config_push.dry_run(session, found, patch, user.username)
    return ConfigCheckOut(version=version, config=merged)


@router.patch("/devices/{device_id}/config")
def push_config(
    device_id: DeviceIdPath,
    request: Request,
    user: Operator,
    session: SessionDep,
    ctx: ContextDep,
    patch: PatchBody,
) -> ConfigVersionOut:
    _refuse_control_characters(patch)
    found = _device_or_404(session, device_id)
    try:
        with _refusals_as_http():
            row = config_push.create_push(session, found, patch, user.username)
            session.flush()
    except IntegrityError as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "another push for this device happened at once"
        ) from exc
    audit.record(
        session,
        user.username,
        "config_push",
        {"device_id": device_id, "version": row.version},
        client_address(request),
    )
    session.commit()  # stored before publishing: a push is never lost, at worst published on reconnect
    if config_push.publish(session, found, row, ctx.publisher):
        session.commit()
    return ConfigVersionOut.from_row(row)
