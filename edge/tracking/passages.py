"""Deciding whether a closed track was a vehicle passage worth one event.

A track needs `min_reads` readings of at least the reader's `min_confidence`; the same plate on
the same channel again within `repeat_window_s` (a car waiting at a barrier, a track broken by
an occlusion) is the same passage and makes no second event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from common.config import TrackingConfig
from edge.tracking.tracker import Observation, Track
from edge.tracking.voting import Vote, vote

Verdict = Literal["event", "too_few_reads", "low_confidence", "repeat"]


@dataclass(frozen=True)
class Passage:
    track: Track
    vote: Vote
    best: Observation


class PassageJudge:
    """One per channel: remembers recent plates for repeat suppression."""

    def __init__(self, tracking: TrackingConfig, min_confidence: float, require_valid: bool = True) -> None:
        self.tracking = tracking
        self.min_confidence = min_confidence
        self.require_valid = require_valid
        self._last_event: dict[str, datetime] = {}  # plate glyph form -> last_seen of its last event

    def judge(self, track: Track) -> tuple[Verdict, Passage | None]:
        confident = [r for r in track.readings if r.acceptable(self.min_confidence, self.require_valid)]
        if len(confident) < self.tracking.min_reads:
            return "too_few_reads", None
        result = vote(confident)
        if result is None or result.reading.confidence < self.min_confidence:
            return "low_confidence", None
        previous = self._last_event.get(result.reading.latin)
        window = self.tracking.repeat_window_s
        self._forget_before(track.last_seen, window)
        if previous is not None and (track.first_seen - previous).total_seconds() <= window:
            self._last_event[result.reading.latin] = max(previous, track.last_seen)
            return "repeat", None
        self._last_event[result.reading.latin] = track.last_seen
        best = track.best_for(result.reading.latin)
        if best is None:
            return "low_confidence", None
        return "event", Passage(track, result, best)

    def remember(self, other: PassageJudge) -> None:
        """Take over another judge's recent plates (the same channel, restarted by a reload)."""
        for plate, seen in other._last_event.items():
            self._last_event[plate] = max(seen, self._last_event.get(plate, seen))

    def _forget_before(self, now: datetime, window: float) -> None:
        stale = [k for k, t in self._last_event.items() if (now - t).total_seconds() > window]
        for key in stale:
            del self._last_event[key]

