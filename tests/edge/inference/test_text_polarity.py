"""Glyph polarity: whether a crop plainly shows dark glyphs on a light ground."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.inference.text_polarity import (
    DARK_TEXT_LOG_RATIO,
    LIGHT_TEXT_SKEW,
    light_minority_skew,
    may_show_light_text,
    shows_dark_text,
    stroke_log_ratio,
)


def _text_crop(ink: int, ground: int, h: int = 44, w: int = 200) -> np.ndarray:
    crop = np.full((h, w, 3), ground, np.uint8)
    cv2.putText(crop, "A123BC", (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (ink, ink, ink), 3, cv2.LINE_AA)
    return crop


def test_black_glyphs_on_white_count_as_dark_text() -> None:
    crop = _text_crop(ink=25, ground=225)
    assert stroke_log_ratio(crop) < DARK_TEXT_LOG_RATIO
    assert shows_dark_text(crop)


def test_white_glyphs_on_black_do_not() -> None:
    crop = _text_crop(ink=230, ground=30)
    assert stroke_log_ratio(crop) > 0.0
    assert not shows_dark_text(crop)


def test_the_measure_ignores_exposure_and_colour_channels() -> None:
    bright = _text_crop(ink=25, ground=225)
    dim = (bright * 0.4).astype(np.uint8)
    assert shows_dark_text(dim) and shows_dark_text(bright[..., 0])


def test_a_crop_without_strokes_is_not_evidence_either_way() -> None:
    assert stroke_log_ratio(np.full((40, 180, 3), 128, np.uint8)) == pytest.approx(0.0)
    assert not shows_dark_text(np.full((40, 180), 128, np.uint8))


def test_an_empty_crop_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="too small"):
        stroke_log_ratio(np.zeros((0, 10, 3), np.uint8))


def test_light_glyphs_on_a_dark_ground_are_the_bright_minority() -> None:
    light = _text_crop(ink=230, ground=30)
    assert light_minority_skew(light) > LIGHT_TEXT_SKEW and may_show_light_text(light)
    dark = _text_crop(ink=25, ground=225)
    assert light_minority_skew(dark) < 0 and not may_show_light_text(dark)
    assert not may_show_light_text(np.full((40, 180, 3), 128, np.uint8))
