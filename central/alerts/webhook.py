"""Webhook alerts: a JSON POST per alert, signed with HMAC-SHA256 over "{timestamp}.{body}".

Headers: X-Anpr-Timestamp (Unix seconds), X-Anpr-Signature (sha256=<hex>), X-Anpr-Alert-Id (the
same on every retry, so a receiver can drop duplicates). A receiver recomputes the HMAC with the
shared secret and refuses stale timestamps (replay). 2xx is delivered; 429 and 5xx are retried;
other 4xx are final (the receiver will not change its mind) and dead-lettered. SMS gateways with
an HTTP API are reached this way too (docs/integrations.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from central.alerts.alert import Alert
from central.alerts.delivery import DeadLetterSink, DeliveryError, RetryingSender
from central.alerts.settings import WebhookSettings


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookSender(RetryingSender):
    def __init__(self, settings: WebhookSettings, dead_letter: DeadLetterSink) -> None:
        self.name = f"webhook:{settings.name}"
        super().__init__(settings.retry, dead_letter)
        self.settings = settings
        self._secret = settings.secret_file.read_bytes().strip() if settings.secret_file else None
        self._client = httpx.Client(timeout=settings.retry.timeout_s)

    def accepts(self, alert: Alert) -> bool:
        return self.settings.filter.accepts(alert.kind, alert.site_id)

    def deliver(self, alert: Alert) -> None:
        body = json.dumps(alert.payload(), separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Anpr-Timestamp": timestamp,
            "X-Anpr-Alert-Id": str(alert.alert_id),
        }
        if self._secret is not None:
            headers["X-Anpr-Signature"] = sign(self._secret, timestamp, body)
        try:
            response = self._client.post(self.settings.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= response.status_code < 300:
            return
        retry_after = _retry_after(response.headers.get("Retry-After"))
        final = 400 <= response.status_code < 500 and response.status_code != 429
        raise DeliveryError(f"webhook answered {response.status_code}", retry_after=retry_after, final=final)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._client.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
