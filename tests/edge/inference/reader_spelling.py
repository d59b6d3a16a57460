"""Scripted reader output for tests of the decoding around the network."""

from __future__ import annotations

import numpy as np

from common.plates.alphabet import BLANK_INDEX, NUM_CLASSES, encode


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
