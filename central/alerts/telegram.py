"""Telegram alerts: the plate crop with a caption (sendPhoto), or the caption alone (sendMessage).

The bot token is read from a file (or the systemd credential anpr-telegram-token), never from the
config, and never logged: it is part of every Bot API URL, so errors name the method only. Sends
keep to Telegram's limits (about 1 message a second per chat, 30 a second per bot); a 429 answer
carries `parameters.retry_after`, which is waited out before the same alert is tried again.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx

from central.alerts.alert import Alert
from central.alerts.delivery import DeadLetterSink, DeliveryError, RetryingSender
from central.alerts.settings import TelegramSettings
from common.credentials import credential_or_file

TELEGRAM_TOKEN_CREDENTIAL = "anpr-telegram-token"
MAX_CAPTION = 1024  # Telegram's limit for a photo caption


class TelegramConfigError(ValueError):
    """Telegram is enabled but cannot be used (no token, no chats)."""


def read_token(settings: TelegramSettings) -> str:
    path = credential_or_file(TELEGRAM_TOKEN_CREDENTIAL, settings.token_file)
    if path is None:
        raise TelegramConfigError("telegram.token_file is not set (and no anpr-telegram-token credential)")
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TelegramConfigError(f"cannot read the Telegram token file: {exc.strerror or exc}") from exc
    if not token:
        raise TelegramConfigError("the Telegram token file is empty")
    return token


class TokenRedactor(logging.Filter):
    """httpx logs every request's URL (INFO "HTTP Request: POST ..."): the token must not appear."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), ()
        return True


def _redact_http_logs(token: str) -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, TokenRedactor) and f.token == token for f in logger.filters):
        logger.addFilter(TokenRedactor(token))


class RateLimiter:
    """Spacing per chat and overall; `wait(chat)` blocks until a message to `chat` may go."""

    def __init__(self, per_chat_interval_s: float, overall_per_s: float) -> None:
        self.per_chat = per_chat_interval_s
        self.overall = 1.0 / overall_per_s
        self._next_chat: dict[str, float] = {}
        self._next_any = 0.0
        self._lock = threading.Lock()

    def wait(self, chat: str) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_any, self._next_chat.get(chat, 0.0))
            self._next_any = at + self.overall
            self._next_chat[chat] = at + self.per_chat
        if at > now:
            time.sleep(at - now)

    def hold(self, chat: str, seconds: float) -> None:
        """Telegram said retry_after: nothing to this chat before then."""
        with self._lock:
            self._next_chat[chat] = max(self._next_chat.get(chat, 0.0), time.monotonic() + seconds)


class TelegramChatSender(RetryingSender):
    """One sender per chat, so a chat in a 429 back-off does not hold up the other chats."""

    def __init__(
        self,
        settings: TelegramSettings,
        chat_id: str,
        token: str,
        limiter: RateLimiter,
        client: httpx.Client,
        dead_letter: DeadLetterSink,
    ) -> None:
        self.name = f"telegram:{chat_id}"
        super().__init__(settings.retry, dead_letter)
        self.settings = settings
        self.chat_id = chat_id
        self._base = f"{settings.api_base_url.rstrip('/')}/bot{token}"
        self._limiter = limiter
        self._client = client

    def accepts(self, alert: Alert) -> bool:
        return self.settings.filter.accepts(alert.kind, alert.site_id)

    def deliver(self, alert: Alert) -> None:
        caption = alert.caption()[:MAX_CAPTION]
        self._limiter.wait(self.chat_id)
        method = "sendPhoto" if alert.crop_jpeg else "sendMessage"
        try:
            if alert.crop_jpeg:
                response = self._client.post(
                    f"{self._base}/sendPhoto",
                    data={"chat_id": self.chat_id, "caption": caption},
                    files={"photo": ("plate.jpg", alert.crop_jpeg, "image/jpeg")},
                )
            else:
                response = self._client.post(
                    f"{self._base}/sendMessage", data={"chat_id": self.chat_id, "text": caption}
                )
        except httpx.HTTPError as exc:
            # The exception text may hold the URL, and with it the token: name the type only.
            raise DeliveryError(f"{method}: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and answer.get("ok"):
            return
        description = str(answer.get("description", ""))[:200]
        if response.status_code == 429:
            retry_after = float((answer.get("parameters") or {}).get("retry_after", 1))
            self._limiter.hold(self.chat_id, retry_after)
            raise DeliveryError(f"{method}: 429 {description}", retry_after=retry_after)
        final = 400 <= response.status_code < 500
        raise DeliveryError(f"{method}: {response.status_code} {description}", final=final)


def telegram_senders(settings: TelegramSettings, dead_letter: DeadLetterSink) -> list[TelegramChatSender]:
    if not settings.enabled:
        return []
    if not settings.chat_ids:
        raise TelegramConfigError("telegram.chat_ids is empty")
    token = read_token(settings)
    _redact_http_logs(token)
    limiter = RateLimiter(settings.per_chat_interval_s, settings.overall_per_s)
    client = httpx.Client(timeout=settings.retry.timeout_s)
    return [
        TelegramChatSender(settings, chat, token, limiter, client, dead_letter) for chat in settings.chat_ids
    ]
