"""Alert senders against local servers with the real API shapes: signed webhooks with retries and
dead letters, Telegram sendPhoto with rate limits, 429 storms and a token that never leaks."""

from __future__ import annotations

import itertools
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alert_servers import SmsGateway, TelegramBotApi, WebhookReceiver
from central_factories import event_message, make_event
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from central.alerts.dispatcher import AlertDispatcher
from central.alerts.settings import AlertSettings
from central.db.models import DeadLetter, Site, Watchlist, WatchlistAssignment, WatchlistEntryRow
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from common.gates import DecisionMatch, GateDecision, OutputResult
from common.messages import DeviceStatus
from common.plates.reading import PlateReading
from common.topics import device_topic

TOKEN = "123456:AAE-secret-bot-token"
AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
CROP = b"\xff\xd8\xff\xe0plate-crop\xff\xd9"


def denied(plate: str = "B777OP99", site: str = "north") -> GateDecision:
    return GateDecision(
        site_id=site,
        device_id="gate1",
        gate_id="barrier",
        channel_id="cam-in",
        track_id=1,
        plate=PlateReading(text=plate, latin=plate, confidence=0.9, valid=True),
        action="closed",
        rule="deny-list",
        alert=True,
        watchlist_version=3,
        captured_at=AT,
        decided_at=AT,
        matches=(
            DecisionMatch(list_id="stolen", list_name="Stolen cars", kind="deny", plate=plate, mode="exact"),
        ),
        crop_jpeg=CROP,
    )


@pytest.fixture
def sessions(sqlite_engine: Engine) -> sessionmaker[Session]:
    made = sessionmaker(sqlite_engine)
    with made() as session, session.begin():
        session.add(Site(site_id="north", timezone="Europe/Moscow"))
    return made


def dead_letters(sessions: sessionmaker[Session]) -> list[DeadLetter]:
    with sessions() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def fast_retry(attempts: int = 3) -> dict[str, float]:
    return {"attempts": attempts, "initial_backoff_s": 0.05, "max_backoff_s": 0.2, "timeout_s": 2}


def test_webhook_is_signed_retried_and_filtered(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    secret = tmp_path / "hook.secret"
    secret.write_bytes(b"shared-secret\n")
    receiver = WebhookReceiver(b"shared-secret", statuses=[503, 200])
    settings = AlertSettings.model_validate(
        {
            "webhooks": [
                {
                    "name": "ops",
                    "url": receiver.base_url + "/hook",
                    "secret_file": str(secret),
                    "retry": fast_retry(),
                    "filter": {"kinds": ["deny"], "sites": ["north"]},
                }
            ]
        }
    )
    dispatcher = AlertDispatcher(settings, sessions)
    dispatcher.start()
    try:
        decision = denied()
        dispatcher.on_decisions([decision, denied(site="south")])  # south is filtered out
        dispatcher.on_decisions([decision])  # the same decision again (redelivered): one alert
        assert dispatcher.drain()
    finally:
        dispatcher.stop()
        receiver.close()
    first, second = receiver.received
    assert receiver.bad_signatures == 0 and first.body == second.body  # the retry sends the same alert
    assert first.headers["X-Anpr-Alert-Id"] == second.headers["X-Anpr-Alert-Id"]
    payload = second.fields
    assert (payload["kind"], payload["plate"], payload["lists"], payload["gate"]) == (
        "deny",
        "B777OP99",
        ["Stolen cars"],
        "barrier",
    )
    assert payload["local_time"] == "2026-12-04 12:30:00 MSK"
    assert dead_letters(sessions) == []


def test_refused_or_unreachable_webhooks_go_to_the_dead_letters(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    receiver = WebhookReceiver(b"k", statuses=[])  # no secret configured: every request fails the check (401)
    settings = AlertSettings.model_validate(
        {
            "webhooks": [
                {"name": "refusing", "url": receiver.base_url, "retry": fast_retry()},
                {"name": "gone", "url": "http://127.0.0.1:9/hook", "retry": fast_retry(attempts=2)},
            ]
        }
    )
    dispatcher = AlertDispatcher(settings, sessions)
    dispatcher.start()
    try:
        dispatcher.on_decisions([denied()])
        assert dispatcher.drain()
    finally:
        dispatcher.stop()
        receiver.close()
    assert len(receiver.received) == 1  # 401 is final: not retried
    letters = {d.topic: d for d in dead_letters(sessions)}
    assert letters["alerts/webhook:refusing"].reason == "webhook answered 401"
    assert "ConnectError" in letters["alerts/webhook:gone"].reason
    assert b'"plate":"B777OP99"' in letters["alerts/webhook:gone"].payload.replace(b" ", b"")


def test_telegram_sends_the_crop_with_a_caption_and_keeps_to_the_rate_limits(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    api = TelegramBotApi(TOKEN)
    token_file = tmp_path / "telegram.token"
    token_file.write_text(TOKEN + "\n")
    settings = AlertSettings.model_validate(
        {
            "telegram": {
                "enabled": True,
                "api_base_url": api.base_url,
                "token_file": str(token_file),
                "chat_ids": ["-1001", "42"],
                "per_chat_interval_s": 0.3,
                "retry": fast_retry(),
            }
        }
    )
    dispatcher = AlertDispatcher(settings, sessions)
    dispatcher.start()
    try:
        dispatcher.on_decisions([denied("B777OP99"), denied("B778OP99"), denied("B779OP99")])
        offline = DeviceStatus(
            site_id="north",
            device_id="gate1",
            state="offline",
            reason="connection-lost",
            at=AT,
            agent_version="0.1.0",
        )
        dispatcher.on_statuses([offline])
        assert dispatcher.drain()
    finally:
        dispatcher.stop()
        api.close()
    by_chat: dict[str, list] = {}
    for item in api.received:
        by_chat.setdefault(item.fields["chat_id"], []).append(item)
    assert sorted(by_chat) == ["-1001", "42"] and all(len(items) == 4 for items in by_chat.values())
    photo = by_chat["42"][0].fields
    assert photo["method"] == "sendPhoto" and photo["photo"] == CROP
    assert photo["caption"].splitlines() == [
        "Deny-listed plate at a gate",
        "Plate: B777OP99",
        "List: Stolen cars",
        "Site: north",
        "Camera: cam-in (gate barrier)",
        "Time: 2026-12-04 12:30:00 MSK",
    ]
    assert (
        by_chat["42"][3].fields["method"] == "sendMessage"
        and "Device offline" in by_chat["42"][3].fields["text"]
    )
    for items in by_chat.values():
        gaps = [b.at - a.at for a, b in itertools.pairwise(items)]
        # The limiter spaces the sends 0.3 s apart; arrivals at the server jitter by the time a
        # request takes to build and cross loopback (a few ms), which does not add up over a chat.
        assert min(gaps) >= 0.25 and items[-1].at - items[0].at >= 3 * 0.3 - 0.05


def test_telegram_429_storm_waits_retry_after_and_loses_nothing(
    tmp_path: Path, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    api = TelegramBotApi(TOKEN, too_many=2, retry_after=1)
    token_file = tmp_path / "telegram.token"
    token_file.write_text(TOKEN)
    settings = AlertSettings.model_validate(
        {
            "telegram": {
                "enabled": True,
                "api_base_url": api.base_url,
                "token_file": str(token_file),
                "chat_ids": ["42"],
                "per_chat_interval_s": 0,
                "retry": fast_retry(attempts=5),
            }
        }
    )
    dispatcher = AlertDispatcher(settings, sessions)
    dispatcher.start()
    caplog.set_level(logging.DEBUG)
    try:
        dispatcher.on_decisions([denied()])
        assert dispatcher.drain()
    finally:
        dispatcher.stop()
        api.close()
    calls = api.received
    assert len(calls) == 3 and calls[2].at - calls[0].at >= 2.0  # waited retry_after twice
    assert dead_letters(sessions) == []
    assert TOKEN not in caplog.text


def test_telegram_down_dead_letters_without_leaking_the_token(
    tmp_path: Path, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "telegram.token"
    token_file.write_text(TOKEN)
    settings = AlertSettings.model_validate(
        {
            "telegram": {
                "enabled": True,
                "api_base_url": "http://127.0.0.1:9",
                "token_file": str(token_file),
                "chat_ids": ["42"],
                "retry": fast_retry(attempts=2),
            }
        }
    )
    dispatcher = AlertDispatcher(settings, sessions)
    dispatcher.start()
    caplog.set_level(logging.DEBUG)
    try:
        dispatcher.on_decisions([denied()])
        assert dispatcher.drain()
    finally:
        dispatcher.stop()
    (letter,) = dead_letters(sessions)
    assert letter.topic == "alerts/telegram:42" and letter.reason == "sendPhoto: ConnectError"
    assert TOKEN not in caplog.text and TOKEN.encode() not in letter.payload


def test_telegram_without_a_token_is_a_clear_error(sessions: sessionmaker[Session]) -> None:
    settings = AlertSettings.model_validate({"telegram": {"enabled": True, "chat_ids": ["42"]}})
    with pytest.raises(ValueError, match="token_file is not set"):
        AlertDispatcher(settings, sessions)


def test_a_clean_shutdown_is_not_an_offline_alert(sessions: sessionmaker[Session]) -> None:
    sent = []

    class Collect:
        def submit(self, alert: object) -> None:
            sent.append(alert)

    dispatcher = AlertDispatcher(AlertSettings(), sessions, senders=[Collect()])  # type: ignore[list-item]
    status = DeviceStatus(
        site_id="north", device_id="gate1", state="offline", reason="shutdown", at=AT, agent_version="0.1.0"
    )
    dispatcher.on_statuses([status])
    failed = denied().model_copy(
        update={
            "rule": "allow-list",
            "action": "open",
            "matches": (),
            "outputs": (
                OutputResult(name="relay", type="http", ok=False, attempts=3, error="relay answered 500"),
            ),
        }
    )
    dispatcher.on_decisions([failed])
    assert [a.kind for a in sent] == ["output_failed"] and "relay answered 500" in sent[0].detail
    assert uuid.UUID(str(sent[0].alert_id))


def test_alert_list_hits_of_events_at_cameras_without_a_gate(
    tmp_path: Path, sessions: sessionmaker[Session], sqlite_engine: Engine
) -> None:
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        for list_id, gate in (("watch", ""), ("gate-only", "barrier")):
            session.add(
                Watchlist(
                    list_id=list_id,
                    name=list_id.title(),
                    kind="alert",
                    created_at=now,
                    updated_at=now,
                    updated_by="oscar",
                )
            )
            session.add(
                WatchlistEntryRow(list_id=list_id, plate="X999XX50", match="fuzzy", weekdays="", note="")
            )
            session.add(WatchlistAssignment(list_id=list_id, site_id="north", gate_id=gate))
    receiver = WebhookReceiver(b"s")
    secret = tmp_path / "s"
    secret.write_bytes(b"s")
    settings = AlertSettings.model_validate(
        {
            "webhooks": [
                {"name": "ops", "url": receiver.base_url, "secret_file": str(secret), "retry": fast_retry()}
            ]
        }
    )
    hit = make_event("Х999ХХ5О", site="north", device="gate1", channel="street", at=now)  # О for 0: fuzzy
    at_gate = make_event("X999XX50", site="north", device="gate1", channel="entry", at=now)
    miss = make_event("A111AA11", site="north", device="gate1", channel="street", at=now)
    judged = GateDecision(
        site_id="north",
        device_id="gate1",
        gate_id="barrier",
        channel_id="entry",
        track_id=1,
        plate=at_gate.plate,
        action="closed",
        rule="unknown-closed",
        alert=True,
        watchlist_version=1,
        captured_at=now,
        decided_at=now,
    )
    writer = IngestWriter(sqlite_engine)
    writer.write([decode(device_topic("north", "gate1", "decisions"), judged.to_json(), now)])
    stored = writer.write([decode(*event_message(e), now) for e in (hit, at_gate, miss)]).stored
    dispatcher = AlertDispatcher(settings, sessions)
    dispatcher.start()
    try:
        dispatcher.on_events(stored)
        assert dispatcher.drain()
    finally:
        dispatcher.stop()
        receiver.close()
    (only,) = receiver.received
    payload = only.fields
    assert (payload["kind"], payload["lists"], payload["camera"]) == ("watchlist", ["Watch"], "street")
    assert payload["event_id"] == str(hit.event_id)
    assert payload["crop_url"] == f"/api/v1/events/{hit.event_id}/crop.jpg"


def test_sms_through_a_templated_http_request(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    gateway = SmsGateway("k-123")
    key = tmp_path / "sms.key"
    key.write_text("k-123\n")
    settings = AlertSettings.model_validate(
        {
            "http_templates": [
                {
                    "name": "sms",
                    "url": gateway.base_url + "/send",
                    "body": "form",
                    "fields": {"to": "+79990001122", "text": "$plate on $lists at $site ($local_time)"},
                    "secret_header": "X-Api-Key",
                    "secret_file": str(key),
                    "filter": {"kinds": ["deny"]},
                    "retry": fast_retry(),
                }
            ]
        }
    )
    dispatcher = AlertDispatcher(settings, sessions)
    dispatcher.start()
    try:
        dispatcher.on_decisions([denied()])
        assert dispatcher.drain()
    finally:
        dispatcher.stop()
        gateway.close()
    (sms,) = gateway.received
    assert sms.fields == {
        "to": "+79990001122",
        "text": "B777OP99 on Stolen cars at north (2026-12-04 12:30:00 MSK)",
    }
