from __future__ import annotations

import pytest

from models.metrics import DetectionScore, ReadingScore, edit_distance, iou, match_boxes, match_plates


def test_iou_of_identical_disjoint_and_half_overlapping_boxes() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)


def test_each_prediction_matches_at_most_one_truth() -> None:
    truth = [(0, 0, 10, 10), (1, 1, 11, 11)]
    assert match_boxes(truth, [(0, 0, 10, 10)]) == [0, None]


def test_detection_score_counts_duplicates_as_false_positives() -> None:
    score = DetectionScore()
    score.add([(0, 0, 10, 10)], [(0, 0, 10, 10), (0, 0, 10, 9)])
    score.add([(50, 50, 60, 60)], [])
    assert (score.recall, score.precision) == (0.5, 0.5)


def test_reading_score_exact_and_cer() -> None:
    score = ReadingScore()
    score.add("А123ВС77", "А123ВС77")
    score.add("А123ВС77", "А123ВС7")
    score.add("Х001ХХ99", None)
    assert score.exact_match == pytest.approx(1 / 3)
    assert score.cer == pytest.approx((0 + 1 + 8) / 24)


@pytest.mark.parametrize(("a", "b", "d"), [("", "", 0), ("abc", "abc", 0), ("abc", "abd", 1), ("ab", "ba", 2),
                                           ("kitten", "sitting", 3)])
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d


def test_a_tight_box_inside_a_wide_margin_label_is_that_plate() -> None:
    label = (100, 100, 300, 180)  # the plate is (130, 120, 270, 160): margins of half its height
    tight = (130, 120, 270, 160)
    assert match_boxes([label], [tight]) == [None]  # IoU 0.35
    assert match_plates([label], [tight]) == [0]


def test_inside_matching_skips_slivers_boxes_spilling_out_and_boxes_already_matched() -> None:
    label, other = (100, 100, 300, 180), (310, 100, 510, 180)
    sticker = (140, 130, 160, 150)  # inside, but 2.5% of the label
    spilling = (150, 90, 400, 190)  # half of it outside the label
    assert match_plates([label], [sticker, spilling]) == [None]
    assert match_plates([label, other], [(305, 100, 505, 180)]) == [None, 0]
