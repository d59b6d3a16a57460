"""Glyph masks: the fonts' own glyphs, and W, M and Q drawn as plate typefaces draw them."""

from __future__ import annotations

import numpy as np
import pytest

from models.synth.fonts import PLATE_SHAPE_VARIANTS, FontSet

pytestmark = pytest.mark.plate_font
VARIANTS = range(1, PLATE_SHAPE_VARIANTS + 1)


@pytest.fixture(scope="module")
def fonts() -> FontSet:
    return FontSet.discover()


def _lean(mask: np.ndarray, down_to: float) -> float:
    """How far right the left edge of the ink moves, in glyph heights, from the top to `down_to`."""
    rows = mask[: int(mask.shape[0] * down_to)] > 0.5
    return float(np.argmax(rows, axis=1).max() / mask.shape[0])


@pytest.mark.parametrize("variant", VARIANTS)
def test_plate_w_keeps_its_outer_stems_upright_with_a_short_v_between(fonts: FontSet, variant: int) -> None:
    for font in fonts.sans:
        w = fonts.glyph(font, "W", plate_shape=variant)
        height, width = w.shape
        # The left stem stays at the glyph's edge down to the foot.
        assert _lean(w, 0.9) < 0.1, font.name
        # Between the stems an inverted V rises from the feet to a point below the top.
        middle = w[:, width // 2]
        assert middle[: int(height * 0.12)].max() < 0.5, font.name
        assert middle[int(height * 0.2) : int(height * 0.6)].max() > 0.5, font.name


def test_the_fonts_own_w_slants_so_the_plate_w_is_a_different_shape(fonts: FontSet) -> None:
    for font in fonts.sans:
        assert _lean(fonts.glyph(font, "W"), 0.85) > 0.15, font.name


@pytest.mark.parametrize("variant", VARIANTS)
def test_plate_m_is_the_plate_w_upside_down_in_the_fonts_stroke_weight(fonts: FontSet, variant: int) -> None:
    for font in fonts.sans:
        for weight in (-1, 0, 2):
            w = fonts.glyph(font, "W", weight, plate_shape=variant)
            m = fonts.glyph(font, "M", weight, plate_shape=variant)
            assert np.array_equal(m, w[::-1]), font.name
            row = w[int(w.shape[0] * 0.08)] > 0.5  # above the inner V: the two stems only
            start = int(row.argmax())
            stem = int(row[start:].argmin())  # ink columns of the left stem
            assert abs(stem - fonts.glyph(font, "I", weight).shape[1]) <= 3, (font.name, weight)
            assert w.shape[0] == fonts.glyph(font, "H", weight).shape[0]


def test_other_letters_and_no_stems_keep_the_fonts_own_glyphs(fonts: FontSet) -> None:
    font = fonts.sans[0]
    assert fonts.glyph(font, "H", plate_shape=2) is fonts.glyph(font, "H")
    assert not np.array_equal(fonts.glyph(font, "W", plate_shape=0), fonts.glyph(font, "W", plate_shape=1))


@pytest.mark.parametrize("variant", VARIANTS)
def test_plate_q_is_the_fonts_zero_with_a_tick_inside_the_cap_height(fonts: FontSet, variant: int) -> None:
    for font in fonts.sans:
        zero = fonts.glyph(font, "0")
        q = fonts.glyph(font, "Q", plate_shape=variant)
        height, width = zero.shape
        assert q.shape[0] == height, font.name  # no tail below the baseline
        assert np.array_equal(q[:, :width][: height // 2], zero[: height // 2]), font.name  # the bowl's top
        # The tick: ink added over the bottom right of the zero's box (or beyond it).
        added = (q[height // 2 :, width // 2 :].sum() - zero[height // 2 :, width // 2 :].sum()) / height
        assert added > 0.3, font.name
        left = (slice(height // 2, None), slice(None, width // 3))
        assert q[left].sum() == pytest.approx(zero[left].sum()), font.name


@pytest.mark.parametrize("weight", [-1, 0, 2])
def test_every_fonts_letter_o_is_wider_than_its_zero(fonts: FontSet, weight: int) -> None:
    # Plate typefaces keep O and 0 apart by width; a font that draws O as its 0 gets a wider O.
    for font in fonts.sans:
        letter_o, zero = fonts.glyph(font, "O", weight), fonts.glyph(font, "0", weight)
        o_aspect = letter_o.shape[1] / letter_o.shape[0]
        zero_aspect = zero.shape[1] / zero.shape[0]
        assert o_aspect > 1.15 * zero_aspect, font.name


def test_a_widened_o_keeps_the_zeros_height_and_stroke_weight(fonts: FontSet) -> None:
    din = next((f for f in fonts.sans if f.name == "OSP-DIN.ttf"), None)
    if din is None:
        pytest.skip("fonts-opendin is not installed")
    letter_o, zero = fonts.glyph(din, "O"), fonts.glyph(din, "0")
    assert letter_o.shape[0] == zero.shape[0]
    # The left side is the zero's own, column for column: its curve and stroke are kept.
    left = zero.shape[1] // 2
    np.testing.assert_array_equal(letter_o[:, :left], zero[:, :left])
    # The inserted middle holds only the top and bottom bars, as thick as the zero's.
    middle = letter_o[:, letter_o.shape[1] // 2]
    assert (middle > 0.5).sum() == (zero[:, left] > 0.5).sum()
