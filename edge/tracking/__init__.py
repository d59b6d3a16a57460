"""Plate tracks per channel, voting over their readings, and the one-event-per-passage rule."""

from edge.tracking.passages import Passage, PassageJudge
from edge.tracking.tracker import Observation, PlateTracker, Track, iou
from edge.tracking.voting import Vote, vote

__all__ = ["Observation", "Passage", "PassageJudge", "PlateTracker", "Track", "Vote", "iou", "vote"]
