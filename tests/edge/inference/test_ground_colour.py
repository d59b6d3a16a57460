"""A colour crop's plate ground: plainly not yellow, or no verdict."""

from __future__ import annotations

import numpy as np
import pytest

from edge.inference.ground_colour import (
    PlateGround,
    ground_blueness,
    ground_yellowness,
    shows_non_blue_ground,
    shows_non_yellow_ground,
)

needs_font = pytest.mark.plate_font


def _plate(ground: tuple[int, int, int], ink: tuple[int, int, int] = (20, 20, 20)) -> np.ndarray:
    """A 200x44 BGR crop: `ground` with dark glyph-like bars, a blue band at the left end."""
    crop = np.zeros((44, 200, 3), np.uint8)
    crop[:] = ground
    crop[:, :16] = (160, 50, 10)
    for x in range(30, 190, 22):
        crop[10:34, x : x + 6] = ink
    return crop


def test_white_and_colour_cast_white_grounds_are_not_yellow() -> None:
    assert shows_non_yellow_ground(_plate((240, 232, 226)))  # daylight: a little blue
    # Eu-dev's Romanian dash-cam frames turn white plates pink (blue above green).
    assert shows_non_yellow_ground(_plate((215, 170, 235)))
    # Other frames of it turn them red: red far above green and blue is no yellow.
    assert shows_non_yellow_ground(_plate((113, 118, 204)))


def test_yellow_grounds_and_warm_white_are_never_vetoed() -> None:
    assert not shows_non_yellow_ground(_plate((30, 200, 235)))
    assert not shows_non_yellow_ground(_plate((150, 220, 245)))  # white under a sodium lamp


def test_a_grey_crop_gives_no_verdict() -> None:
    grey = _plate((200, 200, 200))
    grey[:] = grey.mean(axis=2, keepdims=True).astype(np.uint8)
    assert ground_yellowness(grey) is None and not shows_non_yellow_ground(grey)
    assert ground_blueness(grey) is None and not shows_non_blue_ground(grey)
    assert ground_yellowness(grey[..., 0]) is None


def test_a_warm_ground_is_not_blue_and_a_blue_one_or_cool_white_gives_no_verdict() -> None:
    # Eu-dev's Romanian temporary plate (red on white) under the dash-cam's red cast.
    assert shows_non_blue_ground(_plate((200, 190, 250), ink=(60, 40, 200)))
    assert shows_non_blue_ground(_plate((30, 200, 235)))  # yellow
    # A police plate's blue ground behind white glyphs, and daylight white (a little blue).
    assert not shows_non_blue_ground(_plate((160, 60, 10), ink=(240, 240, 240)))
    assert not shows_non_blue_ground(_plate((240, 232, 226)))


def test_a_crop_s_ground_rules_out_only_colours_it_can_measure() -> None:
    white = PlateGround(_plate((240, 232, 226)))
    assert white.plainly_not("yellow") and not white.plainly_not("blue")
    assert not white.plainly_not("white") and not white.plainly_not("black")


@needs_font
def test_synthetic_dutch_plates_are_almost_never_vetoed_and_polish_ones_mostly_are() -> None:
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES

    fonts = FontSet.discover()
    dutch = OcrSampleFactory(fonts, styles=[s for s in PLATE_STYLES.values() if s.country == "NL"])
    polish = OcrSampleFactory(fonts, styles=[PLATE_STYLES["PL/standard"]])
    assert sum(shows_non_yellow_ground(dutch.sample(3, i).crop) for i in range(100)) <= 2
    assert sum(shows_non_yellow_ground(polish.sample(3, i).crop) for i in range(100)) >= 40


@needs_font
def test_synthetic_russian_police_plates_are_never_ruled_not_blue() -> None:
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES

    police = OcrSampleFactory(FontSet.discover(), styles=[PLATE_STYLES["RU/police"]])
    assert not any(shows_non_blue_ground(police.sample(5, i).crop) for i in range(100))
