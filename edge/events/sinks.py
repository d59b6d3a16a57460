"""Where finished plate events go: every `EventSink`, from one dispatcher thread.

Sinks run on one dispatcher thread, fed by a queue from all channels, so a slow or failing sink
never stalls frame processing and the SQLite store (edge.store.sink.StoreSink) is written from a
single thread. A sink with a `retry()` method is called again between events, so one that holds
events it could not deliver (a full disk) gets to deliver them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

from common.events import PlateEvent

log = logging.getLogger(__name__)

RETRY_INTERVAL_S = 5.0


class EventSink(Protocol):
    name: str

    def emit(self, event: PlateEvent) -> None: ...


class CallbackSink:
    """Hands each event to a function: the demo's console printer, embedding applications."""

    def __init__(self, callback: Callable[[PlateEvent], None], name: str = "callback") -> None:
        self.callback = callback
        self.name = name

    def emit(self, event: PlateEvent) -> None:
        self.callback(event)


class LogSink:
    """One log line per event, without the plate text (logs are not the place for personal data)."""

    name = "log"

    def emit(self, event: PlateEvent) -> None:
        log.info(
            "event %s channel=%s country=%s confidence=%.2f frames=%d",
            event.event_id, event.channel_id, event.plate.country or "?", event.confidence, event.frames,
        )


class EventDispatcher:
    """Delivers events to every sink from one thread; also drives the sinks' retries."""

    def __init__(self, sinks: list[EventSink], retry_interval_s: float = RETRY_INTERVAL_S) -> None:
        self.sinks = sinks
        self.retry_interval_s = retry_interval_s
        self.delivered = 0
        self._queue: queue.Queue[PlateEvent | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="event-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, event: PlateEvent) -> None:
        self._queue.put(event)

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted event has been handed to the sinks."""
        done = threading.Event()
        threading.Thread(target=lambda: (self._queue.join(), done.set()), daemon=True).start()
        return done.wait(timeout)

    @property
    def held(self) -> int:
        return sum(len(getattr(sink, "held", ())) for sink in self.sinks)

    def _run(self) -> None:
        while True:
            try:
                event = self._queue.get(timeout=self.retry_interval_s)
            except queue.Empty:
                self._retry()
                continue
            try:
                if event is None:
                    self._retry()
                    return
                self._deliver(event)
            finally:
                self._queue.task_done()

    def _deliver(self, event: PlateEvent) -> None:
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception:  # one broken sink must not starve the others
                log.exception("sink %s failed on event %s", sink.name, event.event_id)
        self.delivered += 1

    def _retry(self) -> None:
        for sink in self.sinks:
            retry = getattr(sink, "retry", None)
            if retry is not None:
                try:
                    retry()
                except Exception:
                    log.exception("sink %s failed to retry held events", sink.name)
