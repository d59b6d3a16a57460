"""Readings, bundles and a decision collector for the gate tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from common.gates import GateDecision
from common.plates.reading import PlateReading
from common.watchlists import Watchlist, WatchlistBundle, WatchlistEntry, WatchlistIndex

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # a Friday


def reading(latin: str, confidence: float = 0.95, valid: bool = True) -> PlateReading:
    return PlateReading(
        text=latin, latin=latin, confidence=confidence, country="RU", format="standard", valid=valid
    )


def lists(
    allow: tuple[str, ...] = (), deny: tuple[str, ...] = (), alert: tuple[str, ...] = (), version: int = 1
) -> WatchlistIndex:
    def one(list_id: str, kind: str, plates: tuple[str, ...]) -> Watchlist:
        return Watchlist(
            list_id=list_id,
            name=list_id.title(),
            kind=kind,  # type: ignore[arg-type]
            entries=tuple(WatchlistEntry(plate=p) for p in plates),
        )

    return WatchlistIndex(
        WatchlistBundle(
            version=version,
            site_id="site-1",
            lists=(one("staff", "allow", allow), one("banned", "deny", deny), one("watch", "alert", alert)),
        )
    )


class Decisions:
    """Collects recorded decisions; tests wait on it instead of sleeping."""

    def __init__(self) -> None:
        self.items: list[GateDecision] = []
        self._cond = threading.Condition()

    def __call__(self, decision: GateDecision) -> None:
        with self._cond:
            self.items.append(decision)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[GateDecision]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.items) >= count, timeout):
                raise AssertionError(f"{len(self.items)} decisions recorded, expected {count}")
            return list(self.items)
