"""What every applier of a versioned push from central shares: one push at a time, outcome
counts, and a handler that never raises into the MQTT network thread."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Protocol, TypeVar

from common.messages import MAX_CONFIG_VERSION

log = logging.getLogger(__name__)

OUTCOMES = ("applied", "rejected", "stale", "malformed")


class Ack(Protocol):
    @property
    def outcome(self) -> str: ...


AckT = TypeVar("AckT", bound=Ack)


def guess_version(payload: bytes) -> int | None:
    """The version of a push too broken to parse, if it has one, so the ack can still name it."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= MAX_CONFIG_VERSION:
            return version
    return None


class PushHandling:
    """Serialises pushes and counts their outcomes; "malformed" counts payloads without even a
    usable version (no ack is sent for them)."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts[name] for name in OUTCOMES}

    def handle(
        self,
        payload: bytes,
        handler: Callable[[bytes], AckT | None],
        rejected: Callable[[int, str], AckT],
    ) -> AckT | None:
        """`handler`'s ack; if it raises, a "rejected" ack for the version the payload names."""
        with self._lock:
            try:
                ack = handler(payload)
            except Exception:  # a bug here must not kill the network thread; count and report it
                log.exception("%s push handling failed", self._what)
                ack = self._internal_error_ack(payload, rejected)
            self._counts["malformed" if ack is None else ack.outcome] += 1
            return ack

    def _internal_error_ack(self, payload: bytes, rejected: Callable[[int, str], AckT]) -> AckT | None:
        version = guess_version(payload)
        try:
            return None if version is None else rejected(version, "internal error on device")
        except Exception:  # the running state itself cannot be described in an ack
            log.exception("cannot even answer %s push version %s", self._what, version)
            return None
