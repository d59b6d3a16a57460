"""Drawing primitives shared by the plate renderer and its furniture: a canvas in millimetres
that gathers glyph ink for one blend, flags, and small print."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.synth.fonts import FontSet

BGR = tuple[int, int, int]


@dataclass
class Canvas:
    image: np.ndarray
    scale: float  # px per mm
    text_ink: BGR = (0, 0, 0)
    text_alpha: np.ndarray | None = None  # glyphs in `text_ink` gather here and are blended once

    def px(self, mm: float) -> int:
        return round(mm * self.scale)

    def draw_glyph(self, mask: np.ndarray, x: float, y: float, w: float, h: float, ink: BGR) -> None:
        """Composite `mask` into the box (x, y, w, h) given in mm."""
        x0, y0 = self.px(x), self.px(y)
        pw, ph = max(1, self.px(w)), max(1, self.px(h))
        alpha = cv2.resize(mask, (pw, ph), interpolation=cv2.INTER_AREA)
        H, W = self.image.shape[:2]
        xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + pw, W), min(y0 + ph, H)
        if xb <= xa or yb <= ya:
            return
        a = alpha[ya - y0 : yb - y0, xa - x0 : xb - x0]
        if ink == self.text_ink and self.text_alpha is not None:
            np.maximum(self.text_alpha[ya:yb, xa:xb], a, out=self.text_alpha[ya:yb, xa:xb])
            return
        region = self.image[ya:yb, xa:xb].astype(np.float32)
        self.image[ya:yb, xa:xb] = (
            region * (1 - a[..., None]) + np.asarray(ink, np.float32) * a[..., None]
        ).astype(np.uint8)

    def flush(self) -> None:
        if self.text_alpha is None:
            return
        ink = np.empty_like(self.image)
        ink[:] = self.text_ink
        self.image[:] = cv2.blendLinear(ink, self.image, self.text_alpha, 1.0 - self.text_alpha)
        self.text_alpha = None

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: BGR, thickness: int = -1) -> None:
        cv2.rectangle(self.image, (self.px(x0), self.px(y0)), (self.px(x1), self.px(y1)), color, thickness)


def jitter(rng: np.random.Generator, color: BGR, amount: int) -> BGR:
    c = np.clip(np.asarray(color) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return (int(c[0]), int(c[1]), int(c[2]))


def draw_flag(canvas: Canvas, x: float, y: float, w: float, h: float, colors: list[BGR]) -> None:
    stripe = h / len(colors)
    for i, color in enumerate(colors):
        canvas.rect(x, y + i * stripe, x + w, y + (i + 1) * stripe, color)
    canvas.rect(x, y, x + w, y + h, (40, 40, 40), 1)


def draw_small_text(
    canvas: Canvas,
    fonts: FontSet,
    text: str,
    x: float,
    y: float,
    h: float,
    ink: BGR,
    rng: np.random.Generator,
    font: Path | None = None,
) -> float:
    """Small print (RUS, country codes, band numbers) in a sans font (random unless given);
    returns the right edge in mm."""
    if font is None:
        font = fonts.sans[rng.integers(len(fonts.sans))]
    for ch in text:
        mask = fonts.glyph(font, ch, 0)
        w = mask.shape[1] / mask.shape[0] * h
        canvas.draw_glyph(mask, x, y, w, h, ink)
        x += w + 0.12 * h
    return x


def text_width(fonts: FontSet, font: Path, text: str, h: float) -> float:
    """Width in mm of `text` as draw_small_text lays it at height `h` in `font`."""
    masks = [fonts.glyph(font, ch, 0) for ch in text]
    return sum(m.shape[1] / m.shape[0] * h for m in masks) + 0.12 * h * (len(text) - 1)
