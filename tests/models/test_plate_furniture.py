"""European plate furniture: every listed country draws what its real plates show between and
beside the glyphs, none of it reaches the label, and rendering stays a function of the seed."""

from __future__ import annotations

import re

import numpy as np
import pytest

from common.plates.registry import load_registry
from models.synth.fonts import FontSet
from models.synth.ocr_samples import OcrSampleFactory
from models.synth.plate_furniture import printed_band_code
from models.synth.plate_render import PLATE_STYLES, random_text, render_plate_layout

pytestmark = pytest.mark.plate_font
PX_PER_MM = 1.0


@pytest.fixture(scope="module")
def fonts() -> FontSet:
    return FontSet.discover()


def _blue(pixels: np.ndarray) -> np.ndarray:
    b, g, r = (pixels[..., i].astype(int) for i in range(3))
    return (b > r + 60) & (b > g + 20)


def _yellow(pixels: np.ndarray) -> np.ndarray:
    b, g, r = (pixels[..., i].astype(int) for i in range(3))
    return (r > b + 100) & (g > b + 80)


def _render(key: str, fonts: FontSet, seed: int):
    style = PLATE_STYLES[key]
    rng = np.random.default_rng(seed)
    return render_plate_layout(style, random_text(style, rng), fonts, rng, px_per_mm=PX_PER_MM)


@pytest.mark.parametrize("key", ["FR/siv", "FR/garage", "IT/standard"])
def test_french_and_italian_plates_have_blue_bands_at_both_ends(key: str, fonts: FontSet) -> None:
    for seed in range(4):
        image, layout = _render(key, fonts, seed)
        w = image.shape[1]
        assert _blue(image[:, : w // 20]).mean() > 0.5, (key, seed)
        assert _blue(image[:, -w // 25 :]).mean() > 0.4, (key, seed)
        assert layout.right_band_x is not None and layout.right_band_x > 0.85 * w


def test_portuguese_plates_before_2020_have_the_yellow_year_band(fonts: FontSet) -> None:
    for seed in range(3):
        image, _ = _render("PT/standard_2005", fonts, seed)
        assert _yellow(image[:, -image.shape[1] // 25 :]).mean() > 0.4
        image, layout = _render("PT/standard", fonts, seed)  # 2020 layout: no right band
        assert layout.right_band_x is None and _yellow(image).mean() < 0.01


def test_old_french_plates_have_no_right_band(fonts: FontSet) -> None:
    # The EU band at the left comes on some of them (test_plate_render); the department's band
    # at the right is SIV's.
    for seed in range(4):
        image, layout = _render("FR/fni", fonts, seed)
        assert layout.right_band_x is None and _blue(image[:, image.shape[1] // 2 :]).mean() < 0.01
        assert all(kind == "space" for kind, _, _ in layout.separators)


# What stands in each gap between glyph groups, per format (alternatives as sets).
EXPECTED_GAPS = {
    "FR/siv": [{"hyphen"}, {"hyphen"}],
    "DE/standard": [{"seal"}, {"space"}],
    "AT/standard": [{"arms"}],
    "SK/standard": [{"arms"}, {"tight"}],
    "NL/sidecode_6": [{"hyphen"}, {"hyphen"}],
    "PL/standard": [{"space", "sticker", "dot"}],
    "RO/standard": [{"space", "dot"}, {"space", "dot"}],
    "IT/standard": [{"space"}, {"space"}],
    "HR/standard": [{"arms"}, {"hyphen"}],
    "CZ/standard": [{"space", "sticker"}],
    "ES/standard": [{"space"}],
}


@pytest.mark.parametrize("key", sorted(EXPECTED_GAPS))
def test_each_gap_shows_its_countrys_separator_and_nothing_else(key: str, fonts: FontSet) -> None:
    for seed in range(6):
        image, layout = _render(key, fonts, seed)
        kinds = [kind for kind, _, _ in layout.separators]
        assert len(kinds) == len(EXPECTED_GAPS[key]), (key, kinds)
        assert all(k in allowed for k, allowed in zip(kinds, EXPECTED_GAPS[key], strict=True)), kinds
        band = layout.glyphs_bottom - layout.glyphs_top
        rows = slice(layout.glyphs_top + band // 4, layout.glyphs_bottom - band // 4)
        # The plate ground just above the glyphs, clear of bolts (at 20% and 80% of the width).
        w = image.shape[1]
        ground = image[layout.glyphs_top - 6 : layout.glyphs_top - 3, int(w * 0.3) : int(w * 0.7)]
        background = np.median(ground, axis=(0, 1))
        for kind, x0, x1 in layout.separators:
            if x1 - x0 < 4:
                assert kind == "tight"
                continue
            gap = image[rows, x0 + 1 : x1 - 1].astype(int)
            drawn = (np.abs(gap - background).max(axis=2) > 60).mean()
            if kind in ("space", "tight"):
                assert drawn < 0.02, (key, seed, kind, drawn)
            else:
                assert drawn > 0.03, (key, seed, kind, drawn)


def test_austrian_plates_have_red_stripes_top_and_bottom(fonts: FontSet) -> None:
    image, _ = _render("AT/standard", fonts, 0)
    for rows in (image[6:9], image[-9:-6]):  # inside the rim
        b, g, r = (rows[:, 60:-10, i].astype(int) for i in range(3))
        assert ((r > b + 80) & (r > g + 80)).mean() > 0.8


def test_bands_print_the_real_distinguishing_signs() -> None:
    rng = np.random.default_rng(0)
    expected = {
        "FR": "F", "IT": "I", "DE": "D", "AT": "A", "PL": "PL", "RO": "RO", "SK": "SK", "CZ": "CZ",
        "NL": "NL", "BE": "B", "ES": "E", "PT": "P", "HU": "H", "SE": "S", "FI": "FIN", "SI": "SLO",
    }  # fmt: skip
    for country, code in expected.items():
        assert printed_band_code(country, rng) == code, country
    assert {printed_band_code("GB", rng) for _ in range(20)} == {"UK", "GB"}
    # Switzerland and Norway are outside the EU: no blue band.
    assert all(s.band is None for s in PLATE_STYLES.values() if s.country in ("CH", "NO"))


def test_every_look_names_a_registry_country_or_format() -> None:
    from models.synth.plate_looks import LOOKS

    registry = load_registry()
    known = set(registry.countries) | {f.key for f in registry.formats}
    assert set(LOOKS) <= known, set(LOOKS) - known


def test_german_plates_use_the_narrow_typeface(fonts: FontSet) -> None:
    look = PLATE_STYLES["DE/standard"].look
    picked = {look.pick_font(fonts, np.random.default_rng(i)).name for i in range(30)}
    narrow = ("OSP-DIN", "PTN", "Narrow")
    if any(n in f.name for f in fonts.sans for n in narrow):
        assert all(any(n in name for n in narrow) for name in picked), picked
    assert look.glyph_width[1] < 1.0


def test_labels_never_contain_furniture(fonts: FontSet) -> None:
    """Separators, seals, bands are drawn but the label is the plate's glyphs only."""
    factory = OcrSampleFactory(fonts, mix="europe")
    registry = load_registry()
    seen = set()
    for i in range(80):
        sample = factory.sample(22, i)
        country, fmt_id = sample.style_id.split("/")
        assert re.fullmatch(r"[A-Z0-9]+", sample.text), sample.text
        assert registry.get(country, fmt_id).is_valid(sample.text), (sample.style_id, sample.text)
        seen.add(country)
    assert len(seen) >= 15  # the europe mix reaches many countries


def test_rendering_is_deterministic_per_seed_and_index(fonts: FontSet) -> None:
    factory = OcrSampleFactory(fonts, styles=[PLATE_STYLES[k] for k in EXPECTED_GAPS], mix="europe")
    for i in range(8):
        a, b = factory.sample(22, i), factory.sample(22, i)
        assert a.text == b.text and np.array_equal(a.crop, b.crop)
    for key in EXPECTED_GAPS:
        (img_a, lay_a), (img_b, lay_b) = _render(key, fonts, 7), _render(key, fonts, 7)
        assert np.array_equal(img_a, img_b) and lay_a == lay_b


def test_formats_the_registry_says_print_hyphens_are_drawn_with_a_hyphen_in_every_gap() -> None:
    # The edge looks for these hyphens to tell FR AB-123-CD from IT AB 123 CD (edge.inference.hyphens).
    hyphenated = {fmt.key for fmt in load_registry().formats_for(None) if "hyphens" in fmt.decorations}
    assert {"FR/siv", "NL/sidecode_6", "PT/standard", "FI/standard"} <= hyphenated
    assert not {"IT/standard", "FR/fni", "PL/standard", "HR/standard"} & hyphenated
    for key in hyphenated:
        assert PLATE_STYLES[key].look.gaps == ("hyphen",), key
