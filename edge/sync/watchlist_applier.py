"""Applying a watchlist bundle pushed by central: validate, cache beside the config, swap, acknowledge.

Pushes are retained and versioned like configs: a push not newer than the running bundle is
"stale" (the retained one again after a reconnect), a malformed one is "rejected" with the reason
and the running lists stay. The cache is written before the new lists are used, so a box that
restarts with the link down decides with the lists central last gave it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from common.messages import (
    MAX_WATCHLIST_PUSH_BYTES,
    ConfigOutcome,
    MessageError,
    WatchlistAck,
    WatchlistPush,
    decode_sized_message,
    utc_now,
)
from common.watchlists import WatchlistBundle, WatchlistIndex
from edge.gates.watchlist_cache import save_watchlists
from edge.sync.push_handling import PushHandling, guess_version

log = logging.getLogger(__name__)


class WatchlistApplier:
    """Turns WatchlistPush payloads into a new WatchlistIndex for the gates; thread-safe."""

    def __init__(
        self,
        site_id: str,
        device_id: str,
        cache_path: Path,
        current: WatchlistIndex,
        use: Callable[[WatchlistIndex], None],
    ) -> None:
        self._site_id = site_id
        self._device_id = device_id
        self._path = cache_path
        self._current = current
        self._use = use
        self._handling = PushHandling("watchlist")

    @property
    def running_version(self) -> int:
        return self._current.version

    def counts(self) -> dict[str, int]:
        return self._handling.counts()

    def handle(self, payload: bytes) -> WatchlistAck | None:
        """Handle one watchlist push; a bug answers "rejected" and keeps the running lists."""
        return self._handling.handle(
            payload, self._handle, lambda version, reason: self._ack(version, "rejected", reason)
        )

    def _handle(self, payload: bytes) -> WatchlistAck | None:
        try:
            push = decode_sized_message(WatchlistPush, payload, MAX_WATCHLIST_PUSH_BYTES)
        except MessageError as exc:
            version = guess_version(payload)
            if version is None:
                log.warning("ignoring a watchlist push without a usable version: %s", exc)
                return None
            return self._ack(version, "rejected", str(exc))
        if push.version <= self._current.version:
            return self._ack(
                push.version,
                "stale",
                f"version {push.version} is not newer than the running version {self._current.version}",
            )
        try:
            bundle = WatchlistBundle.model_validate({**push.bundle, "version": push.version})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return self._ack(push.version, "rejected", f"invalid bundle: {where}: {first['msg']}")
        if bundle.site_id != self._site_id:
            return self._ack(
                push.version, "rejected", f"lists are for site {bundle.site_id}, not {self._site_id}"
            )
        try:
            save_watchlists(self._path, bundle)
        except OSError as exc:
            return self._ack(push.version, "rejected", f"cannot write {self._path}: {exc.strerror or exc}")
        index = WatchlistIndex(bundle)
        self._use(index)
        self._current = index
        return self._ack(push.version, "applied", None)

    def _ack(self, version: int, outcome: ConfigOutcome, reason: str | None) -> WatchlistAck:
        return WatchlistAck(
            site_id=self._site_id,
            device_id=self._device_id,
            version=version,
            accepted=outcome == "applied",
            outcome=outcome,
            reason=None if reason is None else reason[:4096],
            running_version=self._current.version,
            entries=sum(len(w.entries) for w in self._current.bundle.lists),
            applied_at=utc_now(),
        )
