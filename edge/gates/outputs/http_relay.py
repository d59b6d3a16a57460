"""HTTP relay output: one request per open command, over a kept-alive connection.

Network relay boards and PLC gateways take a GET or POST; a 2xx answer is success, anything else
(or no answer within the timeout) is an OutputError. The password or token is read from a file
named in the config, never from the config itself, and never logged.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from urllib.parse import urlsplit

from common.gates import HttpRelayOutput
from edge.gates.outputs.base import GateCommand, OutputError


def _read_secret(settings: HttpRelayOutput) -> str | None:
    if settings.secret_file is None:
        return None
    try:
        return settings.secret_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise OutputError(f"cannot read secret_file {settings.secret_file}: {exc.strerror or exc}") from exc


class HttpRelay:
    type = "http"

    def __init__(self, settings: HttpRelayOutput) -> None:
        self.settings = settings
        self.name = settings.name or "http"
        parts = urlsplit(settings.url)
        if not parts.hostname:
            raise ValueError(f"relay url {settings.url!r} names no host")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"User-Agent": "anpr-edge-gate"}
        secret = _read_secret(settings)
        if settings.auth == "bearer":
            self._headers["Authorization"] = f"Bearer {secret}"
        elif settings.auth == "basic":
            token = base64.b64encode(f"{settings.username}:{secret}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = kind(self._host, self._port, timeout=self.settings.timeout_s)
        return self._conn

    def send(self, command: GateCommand) -> None:
        body: bytes | None = None
        headers = dict(self._headers)
        if self.settings.method != "GET" and self.settings.json_body:
            body = json.dumps(command.as_json()).encode("utf-8")
            headers["Content-Type"] = "application/json"
        with self._lock:
            # A kept-alive connection the relay closed meanwhile fails once: reconnect and try again
            # at once, so an idle gate does not spend one of its attempts on a stale socket.
            for fresh in (self._conn is None, True):
                conn = self._connection()
                try:
                    conn.request(self.settings.method, self._path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    self._drop()
                    if fresh:
                        raise OutputError(f"{self.settings.method} {self._redacted_url()}: {exc}") from exc
            if response.will_close:
                self._drop()
        if not 200 <= response.status < 300:
            raise OutputError(f"relay answered {response.status} {response.reason}")

    def _redacted_url(self) -> str:
        # The path only: a query may carry a relay's key.
        scheme = "https" if self._https else "http"
        return f"{scheme}://{self._host}:{self._port or ''}{urlsplit(self._path).path}"

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()
