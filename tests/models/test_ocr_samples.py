"""Reader training crops: deterministic, labelled in the reader alphabet, camera-like."""

from __future__ import annotations

import numpy as np
import pytest

from common.plates.alphabet import encode
from common.plates.registry import load_registry
from edge.inference.crops import RECTIFY_MARGIN_X, RECTIFY_MARGIN_Y
from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH, reader_image
from models.synth import augment
from models.synth.fonts import FontSet
from models.synth.ocr_samples import CropParams, OcrSampleFactory, samples_per_second
from models.synth.plate_render import PLATE_STYLES

needs_font = pytest.mark.plate_font


@pytest.fixture(scope="module")
def factory() -> OcrSampleFactory:
    return OcrSampleFactory(FontSet.discover())


@needs_font
def test_samples_are_a_pure_function_of_seed_and_index(factory: OcrSampleFactory) -> None:
    a, b, c = factory.sample(11, 4), factory.sample(11, 4), factory.sample(11, 5)
    assert a.text == b.text and np.array_equal(a.crop, b.crop)
    assert (a.text, a.crop.shape) != (c.text, c.crop.shape) or not np.array_equal(a.crop, c.crop)


@needs_font
def test_samples_are_labelled_valid_plates_of_their_format(factory: OcrSampleFactory) -> None:
    registry = load_registry()
    for i in range(16):
        s = factory.sample(3, i)
        country, fmt_id = s.style_id.split("/")
        fmt = registry.get(country, fmt_id)
        assert fmt.is_valid(s.text), (s.style_id, s.text)
        assert s.two_row == (fmt.rows == 2)
        assert len(encode(s.text)) == len(s.text)
        assert s.crop.dtype == np.uint8 and s.crop.ndim == 3 and s.crop.shape[2] == 3
        assert 40 <= s.crop.shape[1] <= 700
        image = reader_image(s.crop, s.two_row)
        assert image.shape == (READER_HEIGHT, READER_WIDTH)


@needs_font
def test_russian_standard_plates_dominate_the_mix(factory: OcrSampleFactory) -> None:
    ids = [factory.sample(9, i).style_id for i in range(30)]
    assert 0.45 < ids.count("RU/standard") / len(ids) < 0.95
    assert len(set(ids)) >= 4


@needs_font
def test_sample_rate_is_reported(factory: OcrSampleFactory) -> None:
    assert samples_per_second(factory, n=10) > 1.0


def test_degradations_keep_shape_and_type() -> None:
    rng = np.random.default_rng(0)
    image = (rng.random((40, 160, 3)) * 255).astype(np.uint8)
    for out in (
        augment.degrade(image, rng),
        augment.motion_blur(image, 5, 30.0),
        augment.defocus_blur(image, 2),
        augment.night_ir(image, rng),
        augment.shadow(image, rng, 0.5),
        augment.glare(image, rng, 0.5),
        augment.dirt(image, rng, 0.3),
        augment.occlude(image, rng, 0.1),
        augment.jpeg(image, 15),
        augment.exposure(image, 1.4, 0.7),
    ):
        assert out.shape == image.shape and out.dtype == np.uint8


def test_plate_quad_respects_the_rotation_limit() -> None:
    rng = np.random.default_rng(1)
    params = augment.GeometryParams(
        rotation_sigma_deg=30.0,
        rotation_max_deg=10.0,
        shear_max=0.0,
        yaw_taper_max=0.0,
        pitch_taper_max=0.0,
        slope_p=0.0,
    )
    for _ in range(50):
        quad = augment.random_plate_quad(520, 112, rng, params)
        top = quad[1] - quad[0]
        assert abs(np.degrees(np.arctan2(top[1], top[0]))) <= 10.0 + 1e-6


@needs_font
def test_rectified_samples_show_the_plate_frontal_with_the_edges_margins() -> None:
    from models.synth.ocr_samples import CropParams
    from models.synth.plate_render import PLATE_STYLES

    style = PLATE_STYLES["RU/standard"]
    exact = OcrSampleFactory(
        FontSet.discover(), styles=[style], crop=CropParams(rectified_p=1.0, corner_noise=(0.0, 0.0))
    )
    w_mm, h_mm = style.size_mm
    expected = w_mm * (1 + 2 * RECTIFY_MARGIN_X) / (h_mm * (1 + 2 * RECTIFY_MARGIN_Y))
    aspects = [s.crop.shape[1] / s.crop.shape[0] for s in (exact.sample(3, i) for i in range(16))]
    # Rectification takes out rotation and shear (which make a box crop taller); only the yaw
    # foreshortening (squash down to 0.55) still narrows the plate.
    assert all(0.5 * expected < a < 1.08 * expected for a in aspects), (expected, aspects)
    boxed = OcrSampleFactory(FontSet.discover(), styles=[style], crop=CropParams(rectified_p=0.0))
    box_aspects = [s.crop.shape[1] / s.crop.shape[0] for s in (boxed.sample(3, i) for i in range(16))]
    assert min(box_aspects) < min(aspects)


@needs_font
@pytest.mark.parametrize(
    ("key", "char_px"),
    [
        ("RU/standard", 100 * 58 / 520),  # a 100 px wide Russian plate: letters 11 px tall
        ("PL/standard", 100 * 72.6 / 520),
        ("PL/two_row", 0.6 * 100 * 0.36 * 170 / 290),  # square plates come 0.6x as wide; lower row
    ],
)
def test_samples_record_their_shortest_characters_height_in_camera_pixels(key: str, char_px: float) -> None:
    fixed_size = OcrSampleFactory(
        FontSet.discover(), styles=[PLATE_STYLES[key]], crop=CropParams(source_width=(100, 100))
    )
    assert {round(fixed_size.sample(4, i).char_px, 3) for i in range(6)} == {round(char_px, 3)}
