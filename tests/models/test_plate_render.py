"""The plate renderer draws every registry format, deterministically, in real plate proportions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from common.plates.registry import load_registry
from models.synth.fonts import FontNotFoundError, FontSet
from models.synth.plate_render import (
    PLATE_STYLES,
    glyph_rows,
    random_text,
    render_plate,
    render_plate_layout,
    style_for_format,
)

pytestmark = pytest.mark.plate_font


@pytest.fixture(scope="module")
def fonts() -> FontSet:
    return FontSet.discover()


def test_every_registry_format_has_a_style_and_renders(fonts: FontSet) -> None:
    registry = load_registry()
    assert set(PLATE_STYLES) == {f.key for f in registry.formats}
    rng = np.random.default_rng(3)
    for key, style in PLATE_STYLES.items():
        text = random_text(style, rng)
        image = render_plate(style, text, fonts, rng, px_per_mm=0.5)
        w_mm, h_mm = style.size_mm
        assert image.dtype == np.uint8 and image.shape == (round(h_mm * 0.5), round(w_mm * 0.5), 3), key
        assert image.std() > 20, f"{key} rendered a blank plate"


def test_russian_plate_follows_gost_size_and_colours(fonts: FontSet) -> None:
    registry = load_registry()
    standard = style_for_format(registry.get("RU", "standard"))
    assert (
        standard.size_mm == (520.0, 112.0)
        and standard.gost_font
        and standard.rus_flag
        and standard.region_box
    )
    taxi = style_for_format(registry.get("RU", "taxi"))
    police = style_for_format(registry.get("RU", "police"))
    rng = np.random.default_rng(0)
    taxi_img = render_plate(taxi, "АВ12377", fonts, rng)
    police_img = render_plate(police, "А123477", fonts, rng)
    # BGR: yellow has far more red/green than blue; police blue the other way round.
    assert np.median(taxi_img[..., 2]) > np.median(taxi_img[..., 0]) + 100
    assert np.median(police_img[..., 0]) > np.median(police_img[..., 2]) + 60


def test_rendering_is_deterministic_by_seed(fonts: FontSet) -> None:
    style = PLATE_STYLES["RU/standard"]
    a = render_plate(style, "А123ВС77", fonts, np.random.default_rng(5))
    b = render_plate(style, "А123ВС77", fonts, np.random.default_rng(5))
    c = render_plate(style, "А123ВС777", fonts, np.random.default_rng(5))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_two_row_plate_puts_groups_on_two_rows(fonts: FontSet) -> None:
    registry = load_registry()
    fmt = registry.get("RU", "square")
    assert glyph_rows(fmt, "А123ВС77") == [["A", "123"], ["BC", "77"]]
    style = style_for_format(fmt)
    image = render_plate(style, "А123ВС77", fonts, np.random.default_rng(1))
    dark = (image.mean(axis=2) < 100).mean(axis=1)
    h = image.shape[0]
    assert dark[h // 8 : h // 2].max() > 0.2 and dark[h // 2 : 7 * h // 8].max() > 0.2


def test_missing_font_dir_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FontNotFoundError, match="--font-dir"):
        FontSet.discover(tmp_path)


def test_old_french_fni_plates_carry_the_eu_band_on_light_grounds_only(fonts: FontSet) -> None:
    style = PLATE_STYLES["FR/fni"]
    banded = {"light": 0, "black": 0}
    for seed in range(60):
        rng = np.random.default_rng(seed)
        image = render_plate(style, random_text(style, rng), fonts, rng, px_per_mm=0.5)
        ground = "black" if np.median(image.mean(axis=2)) < 80 else "light"
        left = image[5:-5, 3:10].reshape(-1, 3).mean(axis=0)  # BGR
        banded[ground] += bool(left[0] > left[2] + 40)
    assert banded["black"] == 0
    assert 10 <= banded["light"] <= 35  # half the light plates, give or take


@pytest.mark.parametrize(
    ("key", "text", "shortest_mm"),
    [
        ("RU/standard", "А123ВС77", 58.0),  # GOST R 50577: letters 58 mm, digits 76 mm
        ("PL/standard", "WX12345", 110.0 * 0.66),  # one height for every glyph
    ],
)
def test_layout_gives_the_shortest_characters_height_as_drawn(
    fonts: FontSet, key: str, text: str, shortest_mm: float
) -> None:
    px_per_mm = 2.0
    style = PLATE_STYLES[key]
    image, layout = render_plate_layout(style, text, fonts, np.random.default_rng(2), px_per_mm=px_per_mm)
    assert layout.char_mm == pytest.approx(shortest_mm)
    ink = (image.mean(axis=2) < 110).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    heights = [
        h / px_per_mm
        for _x, _y, w, h, _area in stats[1:count]
        # glyphs only: not the rim, the region line, RUS, the band's letters or bolts
        if 30 <= h / px_per_mm <= 90 and 5 <= w / px_per_mm <= 70
    ]
    assert len(heights) >= len(text) - 1
    assert min(heights) == pytest.approx(layout.char_mm, abs=2.0)
