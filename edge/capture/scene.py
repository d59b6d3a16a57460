"""Whether a channel's scene is still: told by its worker (which sees motion) to its decoder (which
may then skip frames, capture.still_decode=keyframes), and back when the decoder resumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SceneState:
    still: bool = False  # the worker's motion gate has seen nothing move, and no plate is tracked
    epoch: int = 0  # bumped by the worker each time the scene becomes still
    # Bumped by the decoder when a packet's size made it resume: the worker then judges the scene
    # anew from the frames that follow, and the decoder skips again only in a later still epoch.
    resumes: int = 0
