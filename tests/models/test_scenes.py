"""Synthetic detector scenes: deterministic, labelled where the plates really are, at realistic sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.synth.scene_plates import RenderedPlateSource
from models.synth.scenes import PlateImage, SceneConfig, perspective_quad, render_scene


@pytest.fixture(scope="module")
def plates() -> RenderedPlateSource:
    return RenderedPlateSource()


def magenta_plate(rng: np.random.Generator) -> PlateImage:
    """A plate that is one saturated colour, so its pixels can be found in the finished scene."""
    del rng
    image = np.zeros((60, 280, 3), np.uint8)
    image[:] = (255, 0, 255)
    return PlateImage(image, np.array([[0, 0], [280, 0], [280, 60], [0, 60]], np.float32))


def test_same_seed_gives_same_scene(plates: RenderedPlateSource) -> None:
    a = render_scene(np.random.default_rng(7), plates)
    b = render_scene(np.random.default_rng(7), plates)
    c = render_scene(np.random.default_rng(8), plates)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.corners, b.corners)
    assert not np.array_equal(a.image, c.image)


def test_boxes_are_tight_around_corners_and_inside_the_image(plates: RenderedPlateSource) -> None:
    cfg = SceneConfig(height=160, width=224)
    seen = 0
    for seed in range(25):
        scene = render_scene(np.random.default_rng(seed), plates, cfg)
        assert scene.image.shape == (160, 224, 3) and scene.image.dtype == np.uint8
        assert scene.boxes.shape == (len(scene.corners), 4)
        for box, quad in zip(scene.boxes, scene.corners, strict=True):
            np.testing.assert_allclose(box[:2], quad.min(axis=0), atol=1e-4)
            np.testing.assert_allclose(box[2:], quad.max(axis=0), atol=1e-4)
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= 224 and box[3] <= 160
            seen += 1
    assert seen >= 20  # most scenes hold at least one plate


def test_plate_widths_stay_in_the_configured_range(plates: RenderedPlateSource) -> None:
    cfg = SceneConfig()
    widths = []
    for seed in range(30):
        scene = render_scene(np.random.default_rng(seed), plates, cfg)
        widths += [float(np.linalg.norm(q[1] - q[0])) for q in scene.corners]
    # yaw foreshortens the top edge, perspective may stretch it a little
    assert min(widths) >= 0.4 * cfg.min_plate_width
    assert max(widths) <= 1.3 * cfg.max_plate_width
    assert np.median(widths) < 0.5 * cfg.max_plate_width  # far plates are common, as in street views


def test_corner_labels_land_on_the_plate_pixels() -> None:
    cfg = SceneConfig(jpeg_rate=0.0, empty_scene_rate=0.0)
    checked = 0
    for seed in range(20):
        scene = render_scene(np.random.default_rng(seed), magenta_plate, cfg)
        img = scene.image.astype(np.float32)
        magenta = (np.minimum(img[:, :, 0], img[:, :, 2]) - img[:, :, 1]) > 120
        for quad, box in zip(scene.corners, scene.boxes, strict=True):
            if box[2] - box[0] < 20:
                continue
            centre = quad.mean(axis=0)
            inner = centre + 0.6 * (quad - centre)  # well inside the plate, away from blurred edges
            x0, y0 = np.floor(inner.min(axis=0)).astype(int)
            x1, y1 = np.ceil(inner.max(axis=0)).astype(int)
            assert magenta[y0:y1, x0:x1].mean() > 0.5
            checked += 1
        # nothing magenta far outside the labelled plates
        outside = magenta.copy()
        for box in scene.boxes:
            x0, y0, x1, y1 = box.astype(int)
            outside[max(y0 - 3, 0) : y1 + 4, max(x0 - 3, 0) : x1 + 4] = False
        assert outside.sum() <= 3
    assert checked >= 10


def test_perspective_quad_without_rotation_is_the_rectangle() -> None:
    quad = perspective_quad(100, 20, 0.0, 0.0, 0.0, 500.0)
    np.testing.assert_allclose(quad, [[-50, -10], [50, -10], [50, 10], [-50, 10]], atol=1e-4)


def test_perspective_quad_yaw_foreshortens_the_width() -> None:
    quad = perspective_quad(100, 20, math.radians(50), 0.0, 0.0, 1e6)
    width = quad[1, 0] - quad[0, 0]
    assert width == pytest.approx(100 * math.cos(math.radians(50)), rel=1e-3)
