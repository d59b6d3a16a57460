"""Turns what ingest stored into alerts and hands each to every sender whose filter takes it.

Fed by central's MQTT ingest after the commit: new gate decisions (deny hits, alert-list hits,
failed outputs) and device status (offline by Last Will). An alert id is derived from what caused
it, so a message delivered twice (the retained status after a reconnect) alerts once.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from central.alerts.alert import Alert, alert_for_event, alert_for_offline, alerts_for_decision
from central.alerts.delivery import RetryingSender
from central.alerts.http_template import HttpTemplateSender
from central.alerts.settings import AlertSettings
from central.alerts.telegram import telegram_senders
from central.alerts.webhook import WebhookSender
from central.db.models import DeadLetter, EventImage, GateDecisionRow, Site
from central.watchlists.lists import bundle_for_site
from common.gates import GateDecision
from common.messages import DeviceStatus
from common.watchlists import WatchlistIndex

log = logging.getLogger(__name__)

RECENT_ALERT_IDS = 10_000
# Site watchlists are read from the database at most this often for matching events.
LIST_CACHE_S = 10.0
# An event on a gate's camera was already judged by the gate: its decision alerted, not the event.
GATE_DECISION_WINDOW = timedelta(minutes=10)


class AlertDispatcher:
    def __init__(
        self,
        settings: AlertSettings,
        sessions: sessionmaker[Session],
        senders: Sequence[RetryingSender] | None = None,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self.senders: list[RetryingSender] = (
            list(senders)
            if senders is not None
            else [
                *(WebhookSender(w, self.dead_letter) for w in settings.webhooks),
                *(HttpTemplateSender(t, self.dead_letter) for t in settings.http_templates),
                *telegram_senders(settings.telegram, self.dead_letter),
            ]
        )
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._lists: dict[str, tuple[float, WatchlistIndex]] = {}  # site -> (loaded at, alert lists)

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def stop(self) -> None:
        for sender in self.senders:
            sender.stop()

    def drain(self, timeout: float = 30.0) -> bool:
        return all(sender.drain(timeout) for sender in self.senders)

    def _zone(self, site_id: str) -> str:
        with self._sessions() as session:
            site = session.get(Site, site_id)
            return site.timezone if site is not None else self.settings.timezone_fallback

    def _dispatch(self, alert: Alert) -> None:
        key = str(alert.alert_id)
        if key in self._recent:
            return
        self._recent[key] = None
        if len(self._recent) > RECENT_ALERT_IDS:
            self._recent.popitem(last=False)
        for sender in self.senders:
            sender.submit(alert)

    def on_decisions(self, decisions: Sequence[GateDecision]) -> None:
        for decision in decisions:
            for alert in alerts_for_decision(decision, self._zone(decision.site_id)):
                self._dispatch(alert)

    def on_statuses(self, statuses: Sequence[DeviceStatus]) -> None:
        for status in statuses:
            alert = alert_for_offline(status, self._zone(status.site_id))
            if alert is not None:
                self._dispatch(alert)

    def _alert_lists(self, site_id: str) -> WatchlistIndex:
        cached = self._lists.get(site_id)
        if cached is not None and time.monotonic() - cached[0] < LIST_CACHE_S:
            return cached[1]
        with self._sessions() as session:
            bundle = bundle_for_site(session, site_id)
        # Site-wide alert lists only: a list assigned to named gates acts at those gates.
        lists = tuple(w for w in bundle.lists if w.kind == "alert" and not w.gates)
        index = WatchlistIndex(bundle.model_copy(update={"lists": lists}))
        self._lists[site_id] = (time.monotonic(), index)
        return index

    def on_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Alert-list hits among newly stored plate events, except those a gate already decided on."""
        if not self.senders:
            return
        for row in rows:
            index = self._alert_lists(row["site_id"])
            if not index.bundle.lists:
                continue
            matches = index.match(row["plate_text"], row["captured_at"])
            if not matches or self._gate_decided(row):
                continue
            with self._sessions() as session:
                image = session.get(EventImage, row["event_id"])
                crop = image.crop_jpeg if image is not None else None
            names = tuple(sorted({m.list_name for m in matches}))
            self._dispatch(alert_for_event(row, names, index.zone.key, crop))

    def _gate_decided(self, row: dict[str, Any]) -> bool:
        with self._sessions() as session:
            found = session.scalar(
                select(GateDecisionRow.decision_id)
                .where(
                    GateDecisionRow.device_id == row["device_id"],
                    GateDecisionRow.channel_id == row["channel_id"],
                    GateDecisionRow.plate_norm == row["plate_norm"],
                    GateDecisionRow.captured_at >= row["captured_at"] - GATE_DECISION_WINDOW,
                    GateDecisionRow.captured_at <= row["captured_at"] + GATE_DECISION_WINDOW,
                )
                .limit(1)
            )
        return found is not None

    def dead_letter(self, sender: str, alert: Alert, reason: str) -> None:
        """Keep an alert that could not be sent in the dead letters, with its reason (ops API lists them)."""
        with self._sessions() as session, session.begin():
            session.add(
                DeadLetter(
                    received_at=datetime.now(UTC),
                    topic=f"alerts/{sender}",
                    kind="alert_undelivered",
                    reason=reason[:4000],
                    payload=json.dumps(alert.payload()).encode("utf-8"),
                )
            )
