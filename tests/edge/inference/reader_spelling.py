"""Scripted reader output for tests of the decoding around the network."""

from __future__ import annotations

import math

import numpy as np

from common.plates.alphabet import BLANK_INDEX, NUM_CLASSES, encode
from common.plates.reading import PlateReading


def spelling(options: list[dict[str, float]], frames_per_glyph: int = 4) -> np.ndarray:
    """(T, C) log-probabilities that spell one glyph slot per entry of `options` ({glyph: p}),
    each slot followed by blanks, as a CTC reader would."""
    rows = []
    for slot in options:
        frame = np.full(NUM_CLASSES, 1e-6)
        for glyph, p in slot.items():
            frame[encode(glyph)[0]] = p
        rows.append(frame)
        blank = np.full(NUM_CLASSES, 1e-6)
        blank[BLANK_INDEX] = 1.0
        rows.extend([blank] * (frames_per_glyph - 1))
    lp = np.array(rows)
    return np.log(lp / lp.sum(axis=1, keepdims=True)).astype(np.float32)


def placed(text: str, frames: list[int], n_frames: int) -> np.ndarray:
    """(T, C) log-probabilities of `n_frames` frames that read `text`, each glyph sure on its frame
    of `frames` and the blank sure everywhere else."""
    logprobs = np.full((n_frames, NUM_CLASSES), math.log(1e-4))
    logprobs[:, BLANK_INDEX] = math.log(0.99)
    for t, label in zip(frames, encode(text), strict=True):
        logprobs[t] = math.log(1e-4)
        logprobs[t, label] = math.log(0.99)
    return logprobs


def valid_reading(text: str, key: str) -> PlateReading:
    """A valid reading of the glyphs `text` as the format `key` ("IT/standard")."""
    country, fmt = key.split("/")
    return PlateReading(text=text, latin=text, confidence=0.9, country=country, format=fmt, valid=True)
