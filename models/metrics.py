"""Detection and reading metrics shared by every evaluation script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.tracking.tracker import Box, iou

# One IoU for the tracker and for every evaluation, so they agree on what overlaps.
__all__ = ["Box", "DetectionScore", "ReadingScore", "edit_distance", "iou", "match_boxes", "percentile_ms"]


def match_boxes(truth: Sequence[Box], predicted: Sequence[Box], threshold: float = 0.5) -> list[int | None]:
    """For each true box, the index of the predicted box matched to it (greedy by IoU), or None.

    Each prediction matches at most one true box, so duplicates count as false positives.
    """
    pairs = sorted(
        ((iou(t, p), ti, pi) for ti, t in enumerate(truth) for pi, p in enumerate(predicted)),
        reverse=True,
    )
    matched: list[int | None] = [None] * len(truth)
    used: set[int] = set()
    for overlap, ti, pi in pairs:
        if overlap < threshold:
            break
        if matched[ti] is None and pi not in used:
            matched[ti] = pi
            used.add(pi)
    return matched


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass
class ReadingScore:
    """Exact-match and character error rate over (truth, prediction) pairs."""

    plates: int = 0
    exact: int = 0
    char_errors: int = 0
    chars: int = 0

    def add(self, truth: str, predicted: str | None) -> None:
        self.plates += 1
        self.chars += len(truth)
        predicted = predicted or ""
        self.exact += int(predicted == truth)
        self.char_errors += edit_distance(truth, predicted)

    @property
    def exact_match(self) -> float:
        return self.exact / self.plates if self.plates else 0.0

    @property
    def cer(self) -> float:
        return self.char_errors / self.chars if self.chars else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"plates": self.plates, "exact": self.exact, "exact_match": self.exact_match, "cer": self.cer}


@dataclass
class DetectionScore:
    """Recall and precision at one IoU threshold."""

    truths: int = 0
    predictions: int = 0
    hits: int = 0

    def add(self, truth: Sequence[Box], predicted: Sequence[Box], threshold: float = 0.5) -> list[int | None]:
        matched = match_boxes(truth, predicted, threshold)
        self.truths += len(truth)
        self.predictions += len(predicted)
        self.hits += sum(m is not None for m in matched)
        return matched

    @property
    def recall(self) -> float:
        return self.hits / self.truths if self.truths else 0.0

    @property
    def precision(self) -> float:
        return self.hits / self.predictions if self.predictions else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "truths": self.truths,
            "predictions": self.predictions,
            "hits": self.hits,
            "recall": self.recall,
            "precision": self.precision,
        }


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q)) if seconds else 0.0
