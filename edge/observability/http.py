"""/metrics, /health and /ready over plain HTTP, on a background thread.

/health answers "is the process working" (threads alive): a failing health check means restart
me. /ready answers "is it doing its job" (models loaded, store open, every enabled camera has
connected at least once): a failing readiness check means do not count on me yet. Both return a
small JSON body that says what is wrong.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, dict[str, Any]]]


class ObservabilityServer:
    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, health: Check, ready: Check
    ) -> None:
        handler = _make_handler(registry, health, ready)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        log.info("metrics and health on %s/metrics, /health, /ready", self.url)

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever for a loop that never ran
            self._server.shutdown()
        self._server.server_close()


def _make_handler(registry: CollectorRegistry, health: Check, ready: Check) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path in ("/health", "/healthz"):
                self._send_check(health)
            elif path in ("/ready", "/readyz"):
                self._send_check(ready)
            else:
                self._send(404, "application/json", b'{"error": "not found"}')

        def _send_check(self, check: Check) -> None:
            try:
                ok, detail = check()
            except Exception as exc:  # a broken check is itself a failed check, with its reason
                ok, detail = False, {"error": f"{type(exc).__name__}: {exc}"}
            body = json.dumps({"status": "ok" if ok else "fail", **detail}).encode("utf-8")
            self._send(200 if ok else 503, "application/json", body)

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # scrapes every few seconds would flood the journal

    return Handler
