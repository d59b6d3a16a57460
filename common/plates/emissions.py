"""Synthetic reader output (CTC log-probabilities) for a known plate text.

Used to test and benchmark the decoders without a trained model: the output is peaky like a
trained CRNN's (blank almost everywhere, one or two frames per glyph) and, when asked, a
look-alike glyph competes with the true one, as it does on real plates.
"""

from __future__ import annotations

import numpy as np

from common.plates.alphabet import BLANK_INDEX, NUM_CLASSES, READER_ALPHABET, encode
from common.plates.confusions import confusable_glyphs


def synthetic_emissions(
    text: str,
    rng: np.random.Generator,
    frames: int = 32,
    peak: float = 12.0,
    noise: float = 1.0,
    confusion_rate: float = 0.0,
    confusion_margin: tuple[float, float] = (-1.5, 1.0),
) -> np.ndarray:
    """(frames, NUM_CLASSES) log-softmax scores whose best reading is ``text``.

    With probability ``confusion_rate`` per glyph, a look-alike glyph gets a score
    ``peak + margin`` with margin drawn from ``confusion_margin``: a positive margin makes the
    greedy reading wrong at that glyph.
    """
    labels = encode(text)
    if len(labels) * 2 > frames:
        raise ValueError(f"{len(labels)} glyphs need at least {len(labels) * 2} frames, got {frames}")
    logits = rng.normal(0.0, noise, size=(frames, NUM_CLASSES))
    logits[:, BLANK_INDEX] += peak
    slack = frames - 2 * len(labels)
    # Glyph i starts at frame 2*i + shift_i with non-decreasing shifts, so a blank can always
    # separate neighbours; a glyph spans two frames when that still leaves a blank after it.
    starts = 2 * np.arange(len(labels)) + np.sort(rng.integers(0, slack + 1, size=len(labels)))
    for i, label in enumerate(labels):
        frame = int(starts[i])
        limit = int(starts[i + 1]) - 1 if i + 1 < len(labels) else frames
        width = 2 if frame + 2 <= limit and rng.random() < 0.3 else 1
        for f in range(frame, frame + width):
            logits[f, BLANK_INDEX] -= peak
            logits[f, label] += peak
        if confusion_rate and rng.random() < confusion_rate:
            rivals = confusable_glyphs(READER_ALPHABET[label - 1])
            if rivals:
                rival = READER_ALPHABET.index(rivals[int(rng.integers(0, len(rivals)))]) + 1
                logits[frame : frame + width, rival] += peak + rng.uniform(*confusion_margin)
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
