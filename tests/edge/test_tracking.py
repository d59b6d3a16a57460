"""Tracking, voting and the one-event-per-passage rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from common.config import TrackingConfig
from common.plates.reading import PlateReading
from edge.inference.protocols import PlateDetection
from edge.tracking import Observation, PassageJudge, PlateTracker, Track, iou, vote

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _det(x: float, y: float = 100.0, w: float = 100.0) -> PlateDetection:
    return PlateDetection(box=(x, y, x + w, y + 24), score=0.9)


def _reading(latin: str, confidence: float = 0.9, valid: bool = True) -> PlateReading:
    return PlateReading(text=latin, latin=latin, confidence=confidence, country="RU", valid=valid)


def _read(track: Track, reading: PlateReading, at: float = 0.0) -> None:
    frame = np.zeros((10, 10, 3), np.uint8)
    track.add_reading(reading, Observation(reading, _det(0), _at(at), frame[:2, :4], frame))


def test_iou_of_identical_disjoint_and_half_overlapping_boxes() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 0, 30, 10)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


def test_a_moving_plate_stays_one_track_and_two_plates_stay_two() -> None:
    tracker = PlateTracker(iou_threshold=0.2, max_age_s=1.0)
    ids: list[tuple[int, int]] = []
    for step in range(20):
        a, b = tracker.update([_det(10 + 15 * step), _det(500 - 15 * step, y=300)], _at(step * 0.04))
        ids.append((a.id, b.id))
    assert len(set(ids)) == 1 and ids[0][0] != ids[0][1]


def test_a_fast_plate_is_followed_across_skipped_frames_by_its_velocity() -> None:
    tracker = PlateTracker(iou_threshold=0.2, max_age_s=1.0)
    first = tracker.update([_det(0)], _at(0))[0]
    tracker.update([_det(40)], _at(0.04))
    # Five frames later the box moved 200 px: no overlap with the last box, but where predicted.
    assert tracker.update([_det(240)], _at(0.24))[0] is first


def test_tracks_close_after_max_age_of_frame_time() -> None:
    tracker = PlateTracker(iou_threshold=0.2, max_age_s=1.0)
    track = tracker.update([_det(0)], _at(0))[0]
    assert tracker.expire(_at(0.9)) == []
    assert tracker.expire(_at(1.1)) == [track]
    assert tracker.tracks == []


def test_character_voting_corrects_a_minority_of_misreads() -> None:
    readings = [_reading("A123BC77")] * 3 + [_reading("A128BC77"), _reading("A123BC71")]
    result = vote(readings)
    assert result is not None
    assert result.reading.latin == "A123BC77" and result.support == 3


def test_voting_prefers_the_majority_length_and_format_valid_readings() -> None:
    readings = [
        _reading("A123BC777", 0.95, valid=False),
        _reading("A123BC77", 0.8),
        _reading("A123BC77", 0.7),
    ]
    result = vote(readings)
    assert result is not None and result.reading.latin == "A123BC77"


def test_voting_never_invents_a_text_nobody_read() -> None:
    # Per-position majority would give "A123BC77" from these three although no frame read it.
    readings = [_reading("A123XY77"), _reading("A1239C77"), _reading("XY23BC77")]
    result = vote(readings)
    assert result is not None and result.reading.latin in {r.latin for r in readings}


def test_voting_of_nothing_is_none() -> None:
    assert vote([]) is None


def _track(readings: list[PlateReading], start: float, end: float) -> Track:
    track = Track(1, (0, 0, 10, 10), first_seen=_at(start), last_seen=_at(end))
    for r in readings:
        _read(track, r, start)
    return track


def test_a_passage_needs_min_reads_confident_readings() -> None:
    judge = PassageJudge(TrackingConfig(min_reads=3), min_confidence=0.5)
    weak = [_reading("A123BC77", 0.9), _reading("A123BC77", 0.9), _reading("A123BC77", 0.2)]
    assert judge.judge(_track(weak, 0, 1)) == ("too_few_reads", None)
    verdict, passage = judge.judge(_track([_reading("A123BC77")] * 3, 5, 6))
    assert verdict == "event" and passage is not None and passage.vote.reading.latin == "A123BC77"


def test_the_same_plate_within_the_repeat_window_is_one_event() -> None:
    judge = PassageJudge(TrackingConfig(min_reads=1, repeat_window_s=30), min_confidence=0.5)
    assert judge.judge(_track([_reading("A123BC77")], 0, 2))[0] == "event"
    assert judge.judge(_track([_reading("A123BC77")], 10, 12))[0] == "repeat"
    assert judge.judge(_track([_reading("E456KM99")], 13, 14))[0] == "event"
    # The window runs from the last sighting: a car that stayed keeps suppressing itself.
    assert judge.judge(_track([_reading("A123BC77")], 40, 41))[0] == "repeat"
    assert judge.judge(_track([_reading("A123BC77")], 80, 81))[0] == "event"


def test_the_event_crop_is_the_best_observation_of_the_voted_text() -> None:
    track = Track(1, (0, 0, 10, 10), first_seen=_at(0), last_seen=_at(1))
    _read(track, _reading("A128BC77", 0.99, valid=False), 0.1)
    _read(track, _reading("A123BC77", 0.7), 0.2)
    _read(track, _reading("A123BC77", 0.9), 0.3)
    _read(track, _reading("A123BC77", 0.8), 0.4)
    verdict, passage = PassageJudge(TrackingConfig(min_reads=2), 0.5).judge(track)
    assert verdict == "event" and passage is not None
    assert passage.best.reading.latin == "A123BC77" and passage.best.captured_at == _at(0.3)


def test_a_restarted_channel_remembers_the_plates_it_just_reported() -> None:
    before = PassageJudge(TrackingConfig(min_reads=1, repeat_window_s=30), min_confidence=0.5)
    assert before.judge(_track([_reading("A123BC77")], 0, 2))[0] == "event"
    after = PassageJudge(TrackingConfig(min_reads=1, repeat_window_s=30), min_confidence=0.5)
    after.remember(before)
    assert after.judge(_track([_reading("A123BC77")], 5, 6))[0] == "repeat"
