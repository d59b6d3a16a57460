"""Watchlist push: each device gets its site's bundle, versioned, published retained, acknowledged.

Like config push (central.config_push): a push is stored first and published second, so one made
while the broker is unreachable (or the box's link is cut) is published on the next connect; the
retained message reaches a box that was offline when it reconnects. A device gets a new version
only when its bundle changed (compared by digest), so editing one site's list does not bump others.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from central.config_push import ConfigPublisher, latest_unpublished
from central.db.models import Device, WatchlistPushRow
from central.watchlists.lists import bundle_for_site, devices_at
from common.messages import MAX_WATCHLIST_PUSH_BYTES, WatchlistPush
from common.topics import device_topic

log = logging.getLogger(__name__)


class WatchlistPushError(ValueError):
    """A bundle that cannot be pushed (too large); the message says why."""


def _digest(bundle: dict[str, object]) -> str:
    without_version = {k: v for k, v in bundle.items() if k != "version"}
    return hashlib.sha256(json.dumps(without_version, sort_keys=True).encode()).hexdigest()


def latest_push(session: Session, device_id: str) -> WatchlistPushRow | None:
    return session.scalars(
        select(WatchlistPushRow)
        .where(WatchlistPushRow.device_id == device_id)
        .order_by(WatchlistPushRow.version.desc())
        .limit(1)
    ).first()


def _message(row: WatchlistPushRow) -> bytes:
    push = WatchlistPush(
        version=row.version, bundle=row.bundle, issued_at=row.issued_at, issued_by=row.issued_by
    )
    payload = push.to_json()
    if len(payload) > MAX_WATCHLIST_PUSH_BYTES:
        raise WatchlistPushError(f"watchlists of {len(payload)} bytes exceed {MAX_WATCHLIST_PUSH_BYTES}")
    return payload


def stage_push(session: Session, device: Device, issued_by: str) -> WatchlistPushRow | None:
    """Store the device's next bundle version if its bundle changed (in the caller's transaction)."""
    bundle = bundle_for_site(session, device.site_id).model_dump(mode="json")
    digest = _digest(bundle)
    latest = latest_push(session, device.device_id)
    if latest is not None and latest.digest == digest:
        return None
    version = (latest.version if latest else 0) + 1
    row = WatchlistPushRow(
        device_id=device.device_id,
        version=version,
        bundle={**bundle, "version": version},
        digest=digest,
        issued_at=datetime.now(UTC),
        issued_by=issued_by,
    )
    _message(row)  # the size check, before anything is stored
    session.add(row)
    return row


def stage_for_sites(session: Session, site_ids: set[str], issued_by: str) -> list[WatchlistPushRow]:
    staged = [stage_push(session, device, issued_by) for device in devices_at(session, site_ids)]
    return [row for row in staged if row is not None]


def publish(session: Session, row: WatchlistPushRow, publisher: ConfigPublisher | None) -> bool:
    if publisher is None:
        return False
    device = session.get(Device, row.device_id)
    if device is None:
        return False
    if not publisher.publish_retained(
        device_topic(device.site_id, device.device_id, "watchlists"), _message(row)
    ):
        return False
    row.published_at = datetime.now(UTC)
    return True


def publish_pending(sessions: sessionmaker[Session], publisher: ConfigPublisher) -> int:
    """Publish each device's latest bundle that was stored while the broker was unreachable."""
    published = 0
    with sessions() as session:
        for row in latest_unpublished(session, WatchlistPushRow):
            if publish(session, row, publisher):
                published += 1
                session.commit()
    if published:
        log.info("published %d watchlist pushes stored while the broker was unreachable", published)
    return published


def stage_all(sessions: sessionmaker[Session], issued_by: str = "central") -> int:
    """Stage a push for every known device whose bundle changed (devices seen since the last push,
    lists edited while this replica was down); run when ingest connects."""
    with sessions() as session:
        sites = set(session.scalars(select(Device.site_id).distinct()))
        staged = stage_for_sites(session, sites, issued_by)
        session.commit()
        return len(staged)
