"""Front and rear views of cars drawn procedurally, each with a marked place for its plate.

A car is drawn face-on on its own canvas with an alpha mask; the scene composer pastes a plate
at `plate_anchor` and then warps car and plate together, so both share one perspective.
Proportions follow real cars: a 520 mm plate on a 1.7-1.9 m wide car is ~0.27 of its width.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.synth.scene_backgrounds import Color, draw_text_sign, noise_texture

# Common car paints (BGR): white, silver, grey, black, dark blue, red, beige, green, yellow.
_PAINTS: tuple[Color, ...] = (
    (235, 235, 235), (190, 190, 185), (120, 120, 118), (25, 25, 28), (90, 40, 20),
    (30, 30, 170), (150, 180, 200), (40, 80, 30), (30, 190, 220), (70, 60, 110),
)


@dataclass(frozen=True)
class CarView:
    """A car face-on: colour image, alpha mask, and where its plate goes (centre x, y; width)."""

    image: np.ndarray  # float32 (h, w, 3) BGR
    mask: np.ndarray  # float32 (h, w) in 0..1
    plate_center: tuple[float, float]
    plate_width: float


def _between(rng: np.random.Generator, a: float, b: float) -> float:
    """Uniform between a and b in either order (car parts can crowd each other on small cars)."""
    return float(rng.uniform(min(a, b), max(a, b)))


def _paint(rng: np.random.Generator) -> Color:
    base = np.array(_PAINTS[int(rng.integers(len(_PAINTS)))], np.float32) + rng.normal(0, 12, 3)
    c = np.clip(base, 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def _shaded(color: Color, delta: float) -> Color:
    return tuple(int(np.clip(c + delta, 0, 255)) for c in color)  # type: ignore[return-value]


def _poly(img: np.ndarray, pts: list[tuple[float, float]], color: Color) -> None:
    cv2.fillPoly(img, [np.array(pts, np.int32)], color, cv2.LINE_AA)


def _lights(img: np.ndarray, rng: np.random.Generator, w: int, y: int, lh: int, rear: bool) -> None:
    lw = int(w * rng.uniform(0.12, 0.22))
    inset = int(w * rng.uniform(0.02, 0.07))
    if rear:
        color: Color = (int(rng.uniform(0, 60)), int(rng.uniform(0, 50)), int(rng.uniform(140, 230)))
    else:
        g = int(rng.uniform(170, 255))
        color = (g, g, int(g * rng.uniform(0.85, 1.0)))
    round_lamps = rng.random() < 0.3
    for x0 in (inset, w - inset - lw):
        if round_lamps:
            centre, axes = (x0 + lw // 2, y + lh // 2), (lw // 2, lh // 2)
            cv2.ellipse(img, centre, axes, 0, 0, 360, color, -1, cv2.LINE_AA)
        else:
            slant = int(lw * rng.uniform(-0.3, 0.3))
            _poly(img, [(x0, y), (x0 + lw, y + slant // 2), (x0 + lw, y + lh), (x0, y + lh)], color)
        if rng.random() < 0.6:  # inner detail: reflector or bulb
            cv2.circle(img, (x0 + lw // 2, y + lh // 2), max(1, lh // 4), _shaded(color, 40), -1)


def _grille(img: np.ndarray, rng: np.random.Generator, x0: int, y0: int, x1: int, y1: int) -> None:
    dark = int(rng.uniform(10, 60))
    cv2.rectangle(img, (x0, y0), (x1, y1), (dark,) * 3, -1)
    bars = int(rng.integers(2, 9))
    light = int(rng.uniform(80, 220))
    step = max(2, (y1 - y0) // bars)
    for y in range(y0 + step // 2, y1, step):
        cv2.line(img, (x0, y), (x1, y), (light,) * 3, max(1, step // 3))
    if rng.random() < 0.4:
        for x in range(x0, x1, max(2, step)):
            cv2.line(img, (x, y0), (x, y1), (light,) * 3, 1)


def draw_car(rng: np.random.Generator, width: int) -> CarView:
    """A car seen from the front or the rear, `width` pixels wide, plate place marked."""
    w = max(24, width)
    h = int(w * rng.uniform(0.7, 0.95))
    img = np.zeros((h, w, 3), np.float32)
    mask = np.zeros((h, w), np.float32)
    paint = _paint(rng)
    rear = rng.random() < 0.5

    roof_y = int(h * rng.uniform(0.0, 0.08))
    belt_y = int(h * rng.uniform(0.36, 0.48))
    sill_y = int(h * rng.uniform(0.82, 0.9))
    top_in = w * rng.uniform(0.12, 0.22)
    # cabin (trapezoid) and body (box) in paint colour
    _poly(img, [(top_in, roof_y), (w - top_in, roof_y), (w * 0.95, belt_y), (w * 0.05, belt_y)], paint)
    _poly(mask, [(top_in, roof_y), (w - top_in, roof_y), (w * 0.95, belt_y), (w * 0.05, belt_y)], (1.0,))
    cv2.rectangle(img, (0, belt_y), (w - 1, sill_y), paint, -1)
    cv2.rectangle(mask, (0, belt_y), (w - 1, sill_y), 1.0, -1)
    # windscreen / rear window: dark glass with a sky reflection
    g_in, g_top, g_bot = w * 0.04, roof_y + (belt_y - roof_y) * 0.12, belt_y - (belt_y - roof_y) * 0.08
    glass = (int(rng.uniform(20, 90)),) * 3
    glass_quad = [(top_in + g_in, g_top), (w - top_in - g_in, g_top), (w * 0.91, g_bot), (w * 0.09, g_bot)]
    _poly(img, glass_quad, glass)
    if rng.random() < 0.6:
        rx = w * rng.uniform(0.2, 0.6)
        _poly(img, [(rx, g_top), (rx + w * 0.12, g_top), (rx + w * 0.02, g_bot), (rx - w * 0.1, g_bot)],
              _shaded(glass, rng.uniform(20, 70)))
    # wheels under the body
    wheel_w, wheel_h = int(w * 0.14), int(h - sill_y + h * 0.04)
    for x0 in (int(w * 0.06), int(w * 0.8)):
        cv2.rectangle(img, (x0, sill_y - 2), (x0 + wheel_w, h - 1), (15, 15, 15), -1)
        cv2.rectangle(mask, (x0, sill_y - 2), (x0 + wheel_w, min(h - 1, sill_y + wheel_h)), 1.0, -1)
    # lights, grille, bumper
    light_y = belt_y + int(h * rng.uniform(0.02, 0.08))
    light_h = max(3, int(h * rng.uniform(0.07, 0.14)))
    _lights(img, rng, w, light_y, light_h, rear)
    plate_w = w * rng.uniform(0.24, 0.32)
    if rear:
        plate_cy = _between(rng, light_y + light_h * 0.5, sill_y - h * 0.12)
    else:
        gx0, gx1 = int(w * rng.uniform(0.26, 0.36)), int(w * rng.uniform(0.64, 0.74))
        _grille(img, rng, gx0, light_y, gx1, light_y + int(light_h * rng.uniform(0.8, 1.6)))
        plate_cy = _between(rng, light_y + light_h * 1.6, sill_y - h * 0.07)
    bumper_y = int(plate_cy - h * rng.uniform(0.05, 0.1))
    cv2.rectangle(img, (0, bumper_y), (w - 1, sill_y), _shaded(paint, rng.uniform(-40, 15)), -1)
    if rng.random() < 0.6:  # lower grille or diffuser
        ly = int(plate_cy + h * 0.07)
        _grille(img, rng, int(w * 0.2), ly, int(w * 0.8), min(sill_y, ly + int(h * 0.06)))
    plate_cx = w * 0.5 + rng.normal(0, w * 0.02)
    if rng.random() < 0.5:  # plate recess
        rw, rh = plate_w * 1.15, plate_w * 0.3
        cv2.rectangle(img, (int(plate_cx - rw / 2), int(plate_cy - rh / 2)),
                      (int(plate_cx + rw / 2), int(plate_cy + rh / 2)), _shaded(paint, -35), -1)
    if rng.random() < 0.5:  # badge above the plate
        cv2.circle(img, (int(plate_cx), int(plate_cy - plate_w * 0.35)), max(1, int(w * 0.025)),
                   (200, 200, 200), max(1, w // 150))
    if rng.random() < 0.35:  # model lettering or dealer sticker: text that is not a plate
        draw_text_sign(img, rng, int(w * rng.uniform(0.05, 0.75)), int(light_y + rng.uniform(-0.1, 0.2) * h),
                       int(w * rng.uniform(0.1, 0.4)), panel=rng.random() < 0.4)
    # body shading so the paint is not flat
    shade = noise_texture(h, w, rng, octaves=2, base=2) * rng.uniform(5, 30)
    img += shade[:, :, None]
    img += np.linspace(rng.uniform(-10, 30), rng.uniform(-40, 0), h, dtype=np.float32)[:, None, None]
    return CarView(np.clip(img, 0, 255), mask, (float(plate_cx), float(plate_cy)), float(plate_w))
