"""Detector evaluation scoring: one pass at a low threshold, any higher threshold scored from it."""

from __future__ import annotations

from edge.inference.protocols import PlateDetection
from models.detector.eval_real import score_at


def test_raising_the_threshold_trades_recall_for_precision() -> None:
    truths = [[(10.0, 10.0, 110.0, 32.0)], [(50.0, 50.0, 150.0, 72.0)]]
    found = [
        [PlateDetection((12.0, 11.0, 108.0, 31.0), 0.9), PlateDetection((300.0, 10.0, 360.0, 24.0), 0.4)],
        [PlateDetection((52.0, 50.0, 149.0, 70.0), 0.35)],
    ]
    low = score_at(truths, found, 0.3)
    assert (low.hits, low.predictions, low.truths) == (2, 3, 2)
    high = score_at(truths, found, 0.5)
    assert (high.hits, high.predictions) == (1, 1)
    assert high.precision == 1.0 and high.recall == 0.5


def test_a_box_that_overlaps_too_little_is_a_miss_and_a_false_positive() -> None:
    truths = [[(0.0, 0.0, 100.0, 20.0)]]
    found = [[PlateDetection((60.0, 0.0, 160.0, 20.0), 0.9)]]  # IoU 40/160 = 0.25
    score = score_at(truths, found, 0.3)
    assert score.hits == 0 and score.predictions == 1 and score.recall == 0.0
