"""Config push: check a merge patch against the device's reported config, version it, publish it.

A push is an RFC 7396 merge patch against the effective config the device last reported
(config/effective, stored on the device row). Central applies it to that config with
`common.config_push.apply_patch`, the very function the device runs, so a push the device would
refuse (a bad field, another device's ids, mqtt.enabled false, a moved or re-keyed store) is
refused here with the field named, and a patch never resets settings it does not name. The push
carries the report's hash; the device refuses it if its config has changed since.

Versions are monotonic per device (the primary key is (device, version), so two concurrent
pushes cannot share one). A push is stored first and published second; one that could not be
published (broker down) is published on the next connect, so it is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from central import metrics
from central.db.models import Device, DeviceConfig, WatchlistPushRow
from common.config import ConfigError, EdgeConfig, parse_edge_config
from common.config_push import PushRefused, apply_patch, redacted
from common.messages import MAX_CONFIG_PUSH_BYTES, ConfigPush
from common.topics import device_topic

log = logging.getLogger(__name__)


class ConfigPublisher(Protocol):
    def publish_retained(self, topic: str, payload: bytes, timeout: float = 5.0) -> bool: ...


class ConfigPushError(ValueError):
    """A config that cannot be pushed; `field` names the setting at fault."""

    def __init__(self, message: str, field: str = "(top level)") -> None:
        super().__init__(message)
        self.field = field


class NoReportedConfigError(ConfigPushError):
    """The device has not reported its effective config yet: there is nothing to patch."""


def check_patch(device: Device, patch: dict[str, Any], version: int) -> EdgeConfig:
    """The config `patch` makes of the device's report at `version`; refuses, naming the field, a
    patch the device would refuse."""
    if device.effective_config is None:
        raise NoReportedConfigError(
            f"device {device.device_id} has not reported its effective config yet; it does on connect"
        )
    try:
        reported = parse_edge_config(device.effective_config, source=f"reported config of {device.device_id}")
    except ConfigError as exc:  # written by an older or newer agent than this central knows
        raise ConfigPushError(f"the reported config cannot be read: {exc}") from exc
    try:
        return apply_patch(reported, patch, version)
    except PushRefused as exc:
        raise ConfigPushError(str(exc), exc.field) from exc


def _push_message(row: DeviceConfig) -> bytes:
    push = ConfigPush(
        version=row.version,
        patch=row.patch,
        base_hash=row.base_hash or "0" * 64,  # a push stored before base hashes: the device refuses it
        issued_at=row.issued_at,
        issued_by=row.issued_by,
    )
    payload = push.to_json()
    if len(payload) > MAX_CONFIG_PUSH_BYTES:
        raise ConfigPushError(f"config of {len(payload)} bytes exceeds {MAX_CONFIG_PUSH_BYTES}")
    return payload


def next_version(session: Session, device: Device) -> int:
    """The version the next push to `device` gets."""
    latest = session.scalar(
        select(func.max(DeviceConfig.version)).where(DeviceConfig.device_id == device.device_id)
    )
    # The device may run a config newer than any central pushed (edited by hand): go past it.
    return max(latest or 0, device.config_version or 0, device.effective_config_version or 0) + 1


def dry_run(
    session: Session, device: Device, patch: dict[str, Any], issued_by: str
) -> tuple[int, dict[str, Any]]:
    """What a push of `patch` would make (its version and the merged config, secrets redacted),
    checked exactly as `create_push` checks it; nothing is stored or published."""
    version = next_version(session, device)
    merged = check_patch(device, patch, version)
    _push_message(_new_row(device, version, patch, issued_by))  # the size limit a push would meet
    return version, redacted(merged)


def _new_row(device: Device, version: int, patch: dict[str, Any], issued_by: str) -> DeviceConfig:
    return DeviceConfig(
        device_id=device.device_id,
        version=version,
        patch=patch,
        base_hash=device.effective_config_hash,
        issued_at=datetime.now(UTC),
        issued_by=issued_by,
    )


def create_push(session: Session, device: Device, patch: dict[str, Any], issued_by: str) -> DeviceConfig:
    """Store the next config version of a device (in the caller's transaction)."""
    version = next_version(session, device)
    check_patch(device, patch, version)
    row = _new_row(device, version, patch, issued_by)
    _push_message(row)  # size check before anything is stored
    session.add(row)
    return row


def publish(session: Session, device: Device, row: DeviceConfig, publisher: ConfigPublisher | None) -> bool:
    """Publish a stored push retained to the device's config topic; marks it published on success."""
    if publisher is None:
        return False
    topic = device_topic(device.site_id, device.device_id, "config")
    if not publisher.publish_retained(topic, _push_message(row)):
        return False
    row.published_at = datetime.now(UTC)
    metrics.CONFIG_PUSHES.inc()
    return True


PushRowT = TypeVar("PushRowT", DeviceConfig, WatchlistPushRow)


def latest_unpublished(session: Session, model: type[PushRowT]) -> Sequence[PushRowT]:
    """Each device's newest push row of `model` (config or watchlists) when it is not published
    yet: an older unpublished push is superseded by the newer one, which the device gets retained."""
    latest = (
        select(model.device_id, func.max(model.version).label("version"))
        .group_by(model.device_id)
        .subquery()
    )
    return session.scalars(
        select(model)
        .join(latest, (model.device_id == latest.c.device_id) & (model.version == latest.c.version))
        .where(model.published_at.is_(None))
    ).all()


def publish_pending(sessions: sessionmaker[Session], publisher: ConfigPublisher) -> int:
    """Publish each device's latest push that was stored while the broker was unreachable."""
    published = 0
    with sessions() as session:
        for row in latest_unpublished(session, DeviceConfig):
            device = session.get(Device, row.device_id)
            if device is not None and publish(session, device, row, publisher):
                published += 1
                session.commit()
    if published:
        log.info("published %d config pushes stored while the broker was unreachable", published)
    return published
