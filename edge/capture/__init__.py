"""Camera capture: sources, per-channel threads, the latest-frame hand-over."""

from edge.capture.channel import Backoff, CaptureChannel, CaptureStats
from edge.capture.frames import Frame, LatestFrameSlot
from edge.capture.sources import SourceSpec, open_capture, parse_source

__all__ = [
    "Backoff",
    "CaptureChannel",
    "CaptureStats",
    "Frame",
    "LatestFrameSlot",
    "SourceSpec",
    "open_capture",
    "parse_source",
]
