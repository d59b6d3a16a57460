"""Per-channel plate tracking: which detection in this frame is which plate from earlier frames.

Greedy IoU association against each track's constant-velocity prediction, with a centre-distance
fallback for fast plates whose boxes no longer overlap between processed frames (dropped frames,
motion gating). All times are frame times, never the wall clock, so a file replays identically.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from common.plates.reading import PlateReading
from edge.inference.protocols import PlateDetection

Box = tuple[float, float, float, float]


class FrameImage(Protocol):
    """A frame whose full BGR image is made on first use (edge.capture.frames.Frame)."""

    hw: tuple[int, int]

    @property
    def image(self) -> np.ndarray: ...


def area(box: Box) -> float:
    """A box's area (0 for an empty or inverted one)."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a: Box, b: Box) -> float:
    """Area the two boxes share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a: Box, b: Box) -> float:
    inter = intersection(a, b)
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Observation:
    """The best-read moment of a track so far: what its event will carry."""

    reading: PlateReading
    detection: PlateDetection
    captured_at: datetime
    crop: np.ndarray
    # The frame, for the event's thumbnail: a video frame is converted to BGR only if its
    # observation ends up in an event.
    frame: np.ndarray | FrameImage

    def frame_image(self) -> np.ndarray:
        return self.frame if isinstance(self.frame, np.ndarray) else self.frame.image


@dataclass
class Track:
    id: int
    box: Box
    first_seen: datetime
    last_seen: datetime
    hits: int = 1
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, pixels per second
    readings: list[PlateReading] = field(default_factory=list)
    # The best observation per text read, so the event's crop shows the text the vote chose.
    best_by_text: dict[str, Observation] = field(default_factory=dict)
    # Gates (edge.gates) that decided on this track, and whether all of its channel's gates have:
    # then its later readings are not offered again.
    gates_done: set[str] = field(default_factory=set)
    gate_decided: bool = False

    def predicted(self, at: datetime) -> Box:
        dt = (at - self.last_seen).total_seconds()
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        x1, y1, x2, y2 = self.box
        return x1 + dx, y1 + dy, x2 + dx, y2 + dy

    def add_reading(self, reading: PlateReading, observation: Observation) -> None:
        self.readings.append(reading)
        current = self.best_by_text.get(reading.latin)
        if current is None or _quality(observation) > _quality(current):
            self.best_by_text[reading.latin] = observation

    def best_for(self, latin: str) -> Observation | None:
        """The best observation that read `latin`, else the best observation of any text."""
        if latin in self.best_by_text:
            return self.best_by_text[latin]
        return max(self.best_by_text.values(), key=_quality, default=None)

    def settled(self, enough: int) -> bool:
        """True once `enough` confident readings agree: more OCR on this track is wasted work."""
        if len(self.readings) < enough:
            return False
        recent = self.readings[-enough:]
        return len({r.latin for r in recent}) == 1 and min(r.confidence for r in recent) >= 0.9


def _quality(observation: Observation) -> float:
    # A confident reading of a larger plate makes the better evidence crop.
    x1, _, x2, _ = observation.detection.box
    return observation.reading.confidence * (1.0 + 0.002 * max(0.0, x2 - x1))


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


class PlateTracker:
    def __init__(self, iou_threshold: float, max_age_s: float) -> None:
        self.iou_threshold = iou_threshold
        self.max_age_s = max_age_s
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)

    def update(self, detections: list[PlateDetection], at: datetime) -> list[Track]:
        """Assign each detection of a frame taken `at` to a track (new or existing), in order."""
        assigned: list[Track | None] = [None] * len(detections)
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.tracks):
            predicted = track.predicted(at)
            for di, det in enumerate(detections):
                score = iou(predicted, det.box)
                if score < self.iou_threshold:
                    score = self._near_score(predicted, det.box)
                if score > 0:
                    pairs.append((score, ti, di))
        used_tracks: set[int] = set()
        for _, ti, di in sorted(pairs, reverse=True):
            if ti in used_tracks or assigned[di] is not None:
                continue
            used_tracks.add(ti)
            assigned[di] = self._move(self.tracks[ti], detections[di].box, at)
        for di, det in enumerate(detections):
            if assigned[di] is None:
                track = Track(next(self._ids), det.box, first_seen=at, last_seen=at)
                self.tracks.append(track)
                assigned[di] = track
        return [t for t in assigned if t is not None]

    def _near_score(self, predicted: Box, box: Box) -> float:
        """A small positive score when a non-overlapping box is close and of similar size."""
        pw, bw = predicted[2] - predicted[0], box[2] - box[0]
        if pw <= 0 or bw <= 0 or not 0.6 <= bw / pw <= 1.6:
            return 0.0
        (pcx, pcy), (bcx, bcy) = _centre(predicted), _centre(box)
        distance = ((pcx - bcx) ** 2 + (pcy - bcy) ** 2) ** 0.5
        return 0.0 if distance > 1.5 * pw else self.iou_threshold * 0.5 * (1 - distance / (1.5 * pw))

    @staticmethod
    def _move(track: Track, box: Box, at: datetime) -> Track:
        dt = (at - track.last_seen).total_seconds()
        if dt > 0:
            (ox, oy), (nx, ny) = _centre(track.box), _centre(box)
            vx, vy = (nx - ox) / dt, (ny - oy) / dt
            # Smooth: one jittery box should not fling the prediction.
            track.velocity = (0.5 * track.velocity[0] + 0.5 * vx, 0.5 * track.velocity[1] + 0.5 * vy)
        track.box = box
        track.last_seen = max(track.last_seen, at)
        track.hits += 1
        return track

    def expire(self, now: datetime) -> list[Track]:
        """Remove and return tracks unseen for longer than max_age_s at frame time `now`."""
        closed = [t for t in self.tracks if (now - t.last_seen).total_seconds() > self.max_age_s]
        if closed:
            self.tracks = [t for t in self.tracks if t not in closed]
        return closed

    def flush(self) -> list[Track]:
        """Close every track (end of stream or channel stop)."""
        closed, self.tracks = self.tracks, []
        return closed
