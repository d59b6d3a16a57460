"""Licence-plate holder frames around a rendered plate: plastic or chrome rims, dealer text strips."""

from __future__ import annotations

import cv2
import numpy as np

from models.synth.fonts import FontSet

# Dealer names, towns and phone numbers (real frames print all of them).
_DEALER_CHARS = "ABCDEFGHIJKLMNOPRSTUVWXYZ0123456789"


def add_holder_frame(
    plate: np.ndarray,
    fonts: FontSet,
    rng: np.random.Generator,
    px_per_mm: float = 1.0,
    probability: float = 0.55,
) -> tuple[np.ndarray, np.ndarray]:
    """The plate with (maybe) a holder frame, and the plate's corners (TL, TR, BR, BL) in it."""
    h, w = plate.shape[:2]
    if rng.random() >= probability:
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
        return plate, corners
    side = round(rng.uniform(3, 9) * px_per_mm)
    top = round(rng.uniform(3, 10) * px_per_mm)
    bottom = round(rng.uniform(3, 18) * px_per_mm)
    shade = int(rng.integers(10, 230))
    color = (shade, shade, shade) if rng.random() < 0.8 else tuple(int(c) for c in rng.integers(0, 256, 3))
    framed = np.empty((h + top + bottom, w + 2 * side, 3), np.uint8)
    framed[:] = color
    if rng.random() < 0.4:  # chrome: a bright highlight line along the rim
        hi = min(255, shade + 80)
        cv2.rectangle(
            framed,
            (side // 3, top // 3),
            (framed.shape[1] - side // 3, framed.shape[0] - bottom // 3),
            (hi, hi, hi),
            max(1, side // 3),
        )
    framed[top : top + h, side : side + w] = plate
    if bottom >= 9 * px_per_mm and rng.random() < 0.7:
        _dealer_text(framed, fonts, rng, x0=side * 2, y0=top + h, height=bottom, shade=shade)
    if top >= 7 * px_per_mm and rng.random() < 0.3:  # some frames print on the top rim too
        _dealer_text(framed, fonts, rng, x0=side * 2, y0=0, height=top, shade=shade)
    corners = np.array([[side, top], [side + w, top], [side + w, top + h], [side, top + h]], np.float64)
    return framed, corners


def _dealer_text(
    image: np.ndarray, fonts: FontSet, rng: np.random.Generator, x0: int, y0: int, height: int, shade: int
) -> None:
    text = "".join(rng.choice(list(_DEALER_CHARS + " -"), size=int(rng.integers(6, 20))))
    ink = 255 - shade if abs(255 - 2 * shade) > 60 else (0 if shade > 127 else 255)
    font = fonts.sans[rng.integers(len(fonts.sans))]
    glyph_h = max(3, int(height * rng.uniform(0.45, 0.7)))
    x = x0 + int(rng.integers(0, max(1, image.shape[1] // 4)))
    y = y0 + (height - glyph_h) // 2
    for ch in text:
        if ch == " ":
            x += glyph_h // 2
            continue
        mask = fonts.glyph(font, ch)
        gw = max(1, round(mask.shape[1] / mask.shape[0] * glyph_h))
        if x + gw >= image.shape[1] or y + glyph_h > image.shape[0]:
            break
        a = cv2.resize(mask, (gw, glyph_h), interpolation=cv2.INTER_AREA)[..., None]
        roi = image[y : y + glyph_h, x : x + gw].astype(np.float32)
        image[y : y + glyph_h, x : x + gw] = (roi * (1 - a) + ink * a).astype(np.uint8)
        x += gw + max(1, glyph_h // 8)
