"""Detection and reading metrics shared by every evaluation script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.tracking.tracker import Box, area, intersection, iou

# One IoU for the tracker and for every evaluation, so they agree on what overlaps.
__all__ = [
    "Box", "DetectionScore", "ReadingScore", "edit_distance", "iou", "match_boxes", "match_plates",
    "percentile_ms",
]


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


# A reading's box inside a labelled plate box, covering at least this share of it, is a reading of
# that plate even where the IoU is under 0.5: some sets draw their boxes with wide margins.
PLATE_INSIDE_LABEL = 0.85
MIN_SHARE_OF_LABEL = 0.2


def match_plates(truth: Sequence[Box], predicted: Sequence[Box]) -> list[int | None]:
    """`match_boxes` at IoU 0.5, then each still unmatched true box takes the unmatched prediction
    lying inside it (PLATE_INSIDE_LABEL of its area) that covers most of it.

    For scoring readings end to end: eu-dev's Romanian boxes, for one, carry margins of half a
    plate, so a tight box around the whole plate scores an IoU of 0.45 against them. Whether the
    box is tight is the detector's score (`match_boxes`); here only which plate was read matters,
    and its text says how well.
    """
    matched = match_boxes(truth, predicted)
    used = {i for i in matched if i is not None}
    for ti, t in enumerate(truth):
        if matched[ti] is not None:
            continue
        t_area = area(t)
        best, best_share = None, MIN_SHARE_OF_LABEL
        for pi, p in enumerate(predicted):
            p_area = area(p)
            if pi in used or p_area <= 0 or t_area <= 0:
                continue
            inside = intersection(t, p)
            if inside / p_area >= PLATE_INSIDE_LABEL and inside / t_area >= best_share:
                best, best_share = pi, inside / t_area
        if best is not None:
            matched[ti] = best
            used.add(best)
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
