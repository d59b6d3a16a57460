"""Local HTTP servers with the API shapes the alert senders talk to: a webhook receiver that checks
signatures, and a Telegram Bot API stand-in (sendPhoto/sendMessage, 429 with retry_after)."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    fields: dict[str, Any] = field(default_factory=dict)


class _Server:
    def __init__(self, respond: Callable[[Received], tuple[int, dict[str, str], bytes]]) -> None:
        self.received: list[Received] = []
        self.cond = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                item = Received(self.path, dict(self.headers), body, time.monotonic())
                status, headers, payload = respond(item)
                with owner.cond:
                    owner.received.append(item)
                    owner.cond.notify_all()
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} requests arrived, expected {count}")
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver(_Server):
    """Answers each request with the next status of `statuses` (then 200); checks the signature."""

    def __init__(self, secret: bytes, statuses: list[int] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.bad_signatures = 0
        super().__init__(self._respond)

    def _respond(self, item: Received) -> tuple[int, dict[str, str], bytes]:
        timestamp = item.headers.get("X-Anpr-Timestamp", "")
        expected = (
            "sha256="
            + hmac.new(self.secret, timestamp.encode() + b"." + item.body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(expected, item.headers.get("X-Anpr-Signature", "")):
            self.bad_signatures += 1
            return 401, {}, b"bad signature"
        item.fields = json.loads(item.body)
        return (self.statuses.pop(0) if self.statuses else 200), {}, b"{}"


class TelegramBotApi(_Server):
    """/bot<token>/sendPhoto and /sendMessage; the first `too_many` calls get 429 with retry_after."""

    def __init__(self, token: str, too_many: int = 0, retry_after: int = 1) -> None:
        self.token = token
        self.too_many = too_many
        self.retry_after = retry_after
        super().__init__(self._respond)

    def _respond(self, item: Received) -> tuple[int, dict[str, str], bytes]:
        prefix = f"/bot{self.token}/"
        if not item.path.startswith(prefix):
            return 404, {}, json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()
        item.fields = _form_fields(item)
        item.fields["method"] = item.path[len(prefix) :]
        if self.too_many > 0:
            self.too_many -= 1
            answer = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": self.retry_after},
            }
            return 429, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        return 200, {"Content-Type": "application/json"}, b'{"ok": true, "result": {"message_id": 1}}'


def _form_fields(item: Received) -> dict[str, Any]:
    content_type = item.headers.get("Content-Type", "")
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + item.body
        )
        out: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            out[name] = payload if part.get_filename() else payload.decode("utf-8")
        return out
    from urllib.parse import parse_qs

    return {k: v[0] for k, v in parse_qs(item.body.decode()).items()}


class SmsGateway(_Server):
    """An SMS gateway's HTTP API: form fields `to` and `text`, an API key header; 200 when accepted."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        super().__init__(self._respond)

    def _respond(self, item: Received) -> tuple[int, dict[str, str], bytes]:
        if item.headers.get("X-Api-Key") != self.api_key:
            return 403, {}, b"forbidden"
        item.fields = _form_fields(item)
        return 200, {"Content-Type": "application/json"}, b'{"queued": true}'
