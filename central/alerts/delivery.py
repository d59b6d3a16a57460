"""Delivery with retries: each sender has its own queue and thread, so a slow or dead endpoint holds
up only itself. A failed try waits with exponential backoff (or the server's retry_after); an
alert that still fails after its attempts, or is refused outright (4xx), goes to the dead letters
with the reason, so nothing is dropped silently.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from central.alerts.alert import Alert
from central.alerts.settings import RetrySettings

log = logging.getLogger(__name__)

DeadLetterSink = Callable[[str, Alert, str], None]  # (sender name, alert, reason)
_STOP = object()


class DeliveryError(Exception):
    """A try that failed. `retry_after` is the server's wish (HTTP 429); `final` means do not retry."""

    def __init__(self, reason: str, *, retry_after: float | None = None, final: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.final = final


@dataclass
class SenderStats:
    delivered: int = 0
    retries: int = 0
    dead: int = 0


class RetryingSender:
    """Subclasses implement `deliver(alert)` (one try, raising DeliveryError) and `accepts(alert)`."""

    name = "sender"

    def __init__(
        self, retry: RetrySettings, dead_letter: DeadLetterSink, sleep: Callable[[float], bool] | None = None
    ) -> None:
        self.retry = retry
        self._dead_letter = dead_letter
        self.stats = SenderStats()
        self._queue: queue.Queue[object] = queue.Queue()
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._thread = threading.Thread(target=self._run, name=f"alerts-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def accepts(self, alert: Alert) -> bool:
        raise NotImplementedError

    def deliver(self, alert: Alert) -> None:
        raise NotImplementedError

    def submit(self, alert: Alert) -> None:
        if self.accepts(alert):
            self._queue.put(alert)

    def drain(self, timeout: float = 30.0) -> bool:
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the alert in hand; alerts still queued are dead-lettered, not dropped."""
        self._stopping.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Alert):
                self._dead(item, "central stopped before the alert was sent")

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            assert isinstance(item, Alert)
            try:
                self._send(item)
            except Exception as exc:  # a bug in a sender must not stop the others' alerts
                log.exception("alert sender %s failed", self.name)
                self._dead(item, f"internal error: {type(exc).__name__}")

    def _send(self, alert: Alert) -> None:
        delay = self.retry.initial_backoff_s
        reason = "not sent"
        for attempt in range(1, self.retry.attempts + 1):
            try:
                self.deliver(alert)
            except DeliveryError as exc:
                reason = str(exc)
                if exc.final or attempt == self.retry.attempts:
                    break
                self.stats.retries += 1
                wait = exc.retry_after if exc.retry_after is not None else delay
                log.warning(
                    "alert %s via %s failed (try %d): %s; again in %.1f s",
                    alert.alert_id,
                    self.name,
                    attempt,
                    reason,
                    wait,
                )
                if self._sleep(wait) and self._stopping.is_set():
                    break
                delay = min(delay * 2, self.retry.max_backoff_s)
                continue
            self.stats.delivered += 1
            return
        self._dead(alert, reason)

    def _dead(self, alert: Alert, reason: str) -> None:
        self.stats.dead += 1
        log.error("alert %s via %s dead-lettered: %s", alert.alert_id, self.name, reason)
        try:
            self._dead_letter(self.name, alert, reason)
        except Exception:
            log.exception("could not dead-letter alert %s", alert.alert_id)
