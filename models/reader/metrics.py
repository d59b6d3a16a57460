"""Reader accuracy figures: exact plate match and character error rate (CER)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from common.plates.alphabet import decode
from common.plates.ctc import greedy_decode_batch
from models.metrics import edit_distance


def greedy_texts(logprobs: np.ndarray) -> list[str]:
    """Best-path glyph strings of a (N, T, C) log-probability batch."""
    return [decode(list(h.labels)) for h in greedy_decode_batch(logprobs)]


def score_texts(predicted: Sequence[str], truth: Sequence[str]) -> dict[str, float]:
    """exact: share of plates read exactly; cer: edit distance over all truth characters."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} plates")
    if not truth:
        raise ValueError("no plates to score")
    exact = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    errors = sum(edit_distance(p, t) for p, t in zip(predicted, truth, strict=True))
    return {"exact": round(exact, 4), "cer": round(errors / max(1, sum(len(t) for t in truth)), 4)}
