"""Synthetic detector scenes: deterministic, labelled where the plates really are, at realistic sizes."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from models.synth.scene_plates import RenderedPlateSource
from models.synth.scenes import PlateImage, SceneConfig, perspective_quad, render_scene

needs_font = pytest.mark.plate_font


@pytest.fixture(scope="module")
def plates() -> RenderedPlateSource:
    return RenderedPlateSource()


def flat_plate(color: tuple[int, int, int]):  # type: ignore[no-untyped-def]
    """A plate source drawing one flat colour and no randomness, so two colours give twin scenes."""

    def source(rng: np.random.Generator) -> PlateImage:
        del rng
        image = np.zeros((60, 280, 3), np.uint8)
        image[:] = color
        return PlateImage(image, np.array([[0, 0], [280, 0], [280, 60], [0, 60]], np.float32))

    return source


@needs_font
def test_same_seed_gives_same_scene(plates: RenderedPlateSource) -> None:
    a = render_scene(np.random.default_rng(7), plates)
    b = render_scene(np.random.default_rng(7), plates)
    c = render_scene(np.random.default_rng(8), plates)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.corners, b.corners)
    assert not np.array_equal(a.image, c.image)


@needs_font
def test_boxes_are_tight_around_corners_and_inside_the_image(plates: RenderedPlateSource) -> None:
    cfg = SceneConfig(height=160, width=224)
    seen = 0
    for seed in range(12):
        scene = render_scene(np.random.default_rng(seed), plates, cfg)
        assert scene.image.shape == (160, 224, 3) and scene.image.dtype == np.uint8
        assert scene.boxes.shape == (len(scene.corners), 4)
        for box, quad in zip(scene.boxes, scene.corners, strict=True):
            np.testing.assert_allclose(box[:2], quad.min(axis=0), atol=1e-4)
            np.testing.assert_allclose(box[2:], quad.max(axis=0), atol=1e-4)
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= 224 and box[3] <= 160
            seen += 1
    assert seen >= 8  # most scenes hold at least one plate


@needs_font
def test_plate_widths_stay_in_the_configured_range(plates: RenderedPlateSource) -> None:
    cfg = SceneConfig()
    widths = []
    for seed in range(15):
        scene = render_scene(np.random.default_rng(seed), plates, cfg)
        widths += [float(np.linalg.norm(q[1] - q[0])) for q in scene.corners]
    # yaw foreshortens the top edge, perspective may stretch it a little
    assert min(widths) >= 0.4 * cfg.min_plate_width
    assert max(widths) <= 1.3 * cfg.max_plate_width
    assert np.median(widths) < 0.5 * cfg.max_plate_width  # far plates are common, as in street views


def test_corner_labels_land_on_the_plate_pixels() -> None:
    """Twin scenes that differ only in plate colour differ exactly where the labels say."""
    cfg = SceneConfig(jpeg_rate=0.0, empty_scene_rate=0.0)
    checked = 0
    for seed in range(12):
        light = render_scene(np.random.default_rng(seed), flat_plate((250, 250, 250)), cfg)
        dark = render_scene(np.random.default_rng(seed), flat_plate((0, 0, 0)), cfg)
        np.testing.assert_array_equal(light.corners, dark.corners)
        differs = np.abs(light.image.astype(np.int16) - dark.image.astype(np.int16)).max(axis=2) > 25
        for quad, box in zip(light.corners, light.boxes, strict=True):
            if box[2] - box[0] < 20:
                continue
            centre = quad.mean(axis=0)
            inner = centre + 0.6 * (quad - centre)  # well inside the plate, away from blurred edges
            region = np.zeros(differs.shape, np.uint8)
            cv2.fillConvexPoly(region, np.round(inner).astype(np.int32), 1)
            assert differs[region.astype(bool)].mean() > 0.9
            checked += 1
        outside = differs.copy()
        for box in light.boxes:
            x0, y0, x1, y1 = box.astype(int)
            outside[max(y0 - 3, 0) : y1 + 4, max(x0 - 3, 0) : x1 + 4] = False
        assert outside.sum() == 0  # no plate pixels where no plate is labelled
    assert checked >= 6


def test_perspective_quad_without_rotation_is_the_rectangle() -> None:
    quad = perspective_quad(100, 20, 0.0, 0.0, 0.0, 500.0)
    np.testing.assert_allclose(quad, [[-50, -10], [50, -10], [50, 10], [-50, 10]], atol=1e-4)


def test_perspective_quad_yaw_foreshortens_the_width() -> None:
    quad = perspective_quad(100, 20, math.radians(50), 0.0, 0.0, 1e6)
    width = quad[1, 0] - quad[0, 0]
    assert width == pytest.approx(100 * math.cos(math.radians(50)), rel=1e-3)


def test_a_crooked_plate_is_labelled_where_its_turned_pixels_are() -> None:
    from models.synth.scenes import _paste_plate

    source = flat_plate((255, 255, 255))
    canvas = np.zeros((200, 300, 3), np.float32)
    corners = _paste_plate(canvas, source(np.random.default_rng(0)), (150, 100), 140.0,
                           np.random.default_rng(1), tilt_deg=20.0)
    top = corners[1] - corners[0]
    assert math.degrees(math.atan2(-top[1], top[0])) == pytest.approx(20.0, abs=0.5)  # turned as asked
    assert np.linalg.norm(top) == pytest.approx(140.0, rel=0.01)  # at the asked width
    inside = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillConvexPoly(inside, np.round(corners).astype(np.int32), 1)
    inner = cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)
    outer = ~cv2.dilate(inside, np.ones((5, 5), np.uint8)).astype(bool)
    assert canvas[inner].min() > 100 and canvas[outer].max() == 0  # no square of background


def test_crooked_mounting_is_off_by_default_and_turns_plates_when_asked() -> None:
    assert SceneConfig().crooked_rate == 0.0  # the earlier stages' scene stream
    crooked = SceneConfig(height=160, width=224, crooked_rate=1.0, close_up_rate=1.0, empty_scene_rate=0.0)
    tilts = []
    for seed in range(12):
        scene = render_scene(np.random.default_rng(seed), flat_plate((200, 200, 200)), crooked)
        for quad in scene.corners:
            top = quad[1] - quad[0]
            tilts.append(abs(math.degrees(math.atan2(top[1], top[0]))))
    assert tilts and max(tilts) > 12  # plates turned beyond the cars' own modest roll


def test_the_europe_plate_mix_makes_european_plates_a_real_share_of_the_scenes() -> None:
    from collections import Counter

    def countries(source: RenderedPlateSource) -> Counter[str]:
        rng = np.random.default_rng(4)
        return Counter(source.draw_plate(rng)[0].country for _ in range(2000))

    default = countries(RenderedPlateSource())
    europe = countries(RenderedPlateSource(russian_share=0.4, mix="europe"))
    assert default["RU"] > 0.8 * 2000 and default["PL"] < 20
    assert abs(europe["RU"] - 0.4 * 2000) < 100
    assert len(europe) >= 40 and europe["PL"] > 30 and europe["FR"] > 30
    with pytest.raises(ValueError, match="russian_share"):
        RenderedPlateSource(russian_share=1.5)
