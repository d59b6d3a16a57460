"""Fonts for synthetic plates: where they are found and their glyphs as cached alpha masks.

The GOST plate font (RoadNumbers, GPL) is never shipped in this repository: it is read from a
font directory given as an option (default `../shared/fonts` next to the repo). Other plate
typefaces are approximated with DIN-like Debian font packages when they are installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FONT_DIR = REPO_ROOT.parent / "shared" / "fonts"
GOST_FONT_FILE = "RoadNumbers2.0.ttf"

# DIN-like and condensed sans fonts from Debian packages (fonts-opendin, fonts-dejavu-extra,
# fonts-roboto-unhinted, fonts-liberation, fonts-paratype); missing ones are skipped.
SYSTEM_SANS_FONTS = (
    "/usr/share/fonts/truetype/opendin/OSP-DIN.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/truetype/paratype/PTN77F.ttf",
    "/usr/share/fonts/truetype/paratype/PTN57F.ttf",
)

_RENDER_SIZE = 160  # px em size glyphs are rasterised at before scaling to the plate


class FontNotFoundError(FileNotFoundError):
    """A font the renderer needs is not installed or not where the options say."""


@dataclass
class FontSet:
    """The plate font plus the sans fonts found on this machine, with a glyph-mask cache."""

    gost: Path
    sans: tuple[Path, ...]
    _cache: dict[tuple[str, str, int, int], np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def discover(cls, font_dir: str | Path | None = None) -> FontSet:
        directory = Path(font_dir) if font_dir is not None else DEFAULT_FONT_DIR
        gost = directory / GOST_FONT_FILE
        if not gost.is_file():
            raise FontNotFoundError(
                f"GOST plate font {GOST_FONT_FILE} not found in {directory}; pass --font-dir"
            )
        sans = tuple(Path(p) for p in SYSTEM_SANS_FONTS if Path(p).is_file())
        if not sans:
            raise FontNotFoundError(
                "no sans font found; apt-get install fonts-dejavu-extra fonts-roboto-unhinted "
                "fonts-liberation fonts-opendin fonts-paratype"
            )
        return cls(gost=gost, sans=sans)

    def glyph(self, font: Path, char: str, weight: int = 0, plate_shape: int = 0) -> np.ndarray:
        """Tight float32 alpha mask (0..1) of one glyph; `weight` thickens (>0) or thins (<0) strokes.

        `plate_shape` 1..PLATE_SHAPE_VARIANTS draws W, M and Q as most European plate typefaces do
        (see `_stem_letter`, `_tick_tailed_q`) in `font`'s stroke weight; 0 keeps the font's own."""
        plate_shape = plate_shape if char in PLATE_SHAPE_LETTERS else 0
        key = (str(font), char, weight, plate_shape)
        mask = self._cache.get(key)
        if mask is None:
            if plate_shape:
                stroke = self.glyph(font, "I", weight).shape[1]
                height, width = self.glyph(font, "H", weight).shape
                if char == "Q":
                    mask = _tick_tailed_q(self.glyph(font, "0", weight), plate_shape, stroke)
                else:
                    mask = _stem_letter(char, plate_shape, height, width, stroke)
            else:
                mask = _rasterise(font, char, weight)
                if char == "O":
                    mask = _distinct_letter_o(mask, self.glyph(font, "0", weight))
            self._cache[key] = mask
        return mask

    def glyph_or_fallback(self, font: Path, char: str, weight: int = 0, plate_shape: int = 0) -> np.ndarray:
        """`glyph`, or the first sans font's glyph when `font` lacks `char`.

        RoadNumbers only has the twelve GOST letters (and D) among the Latin capitals."""
        try:
            return self.glyph(font, char, weight, plate_shape)
        except ValueError:
            return self.glyph(self.sans[0], char, weight, plate_shape)


# Plate typefaces are near-monospaced, so their W and M keep upright outer stems and join them
# with inner strokes meeting at a point part-way up (FR, PL, RO, DE FE-Schrift). Condensed sans
# fonts slant W's outer strokes instead, and a reader that only saw those read the real W as H,
# N or V and the real M as H.
#
# Their Q is their narrow zero with a short tick across the bottom right, inside the cap height;
# the sans fonts' Q hangs its tail below the baseline, so scaled to the cap height it is a
# squat O over a tail, and a reader that only saw those read the real FR Q as O.
PLATE_SHAPE_LETTERS = frozenset("WMQ")
PLATE_SHAPE_VARIANTS = 4
# Per variant: how far the inner point reaches (fraction of the height) and the outer stems' slant
# (fraction of the width they lean in toward the open end).
_STEM_SHAPES = ((0.45, 0.0), (0.6, 0.03), (0.72, 0.06), (0.55, 0.1))


def _stem_letter(char: str, variant: int, height: int, width: int, stroke: int) -> np.ndarray:
    """W (or M, its upside-down twin) with upright stems, `stroke` px strokes, as a tight mask."""
    reach, slant = _STEM_SHAPES[(variant - 1) % len(_STEM_SHAPES)]
    width = max(width, int(stroke * 3.2))
    pad = stroke
    canvas = np.zeros((height + 2 * pad, width + 2 * pad), np.uint8)
    half = stroke / 2
    top, bottom = pad - stroke, pad + height  # stems run past the top; the cut squares them
    left_top, right_top = pad + half, pad + width - half
    left_bot, right_bot = left_top + slant * width, right_top - slant * width
    apex = (pad + width / 2, pad + height * (1 - reach))
    # W drawn as one polyline: left stem down, up to the apex, down, right stem up.
    points = np.array(
        [(left_top, top), (left_bot, bottom - half), apex, (right_bot, bottom - half), (right_top, top)],
        np.float64,
    )
    shift = 4  # cv2 draws sub-pixel coordinates in fixed point
    cv2.polylines(
        canvas, [np.round(points * (1 << shift)).astype(np.int32)], False, 255, stroke, cv2.LINE_AA, shift
    )
    canvas = canvas[pad : pad + height, :]
    if char == "M":
        canvas = canvas[::-1]
    xs = np.nonzero(canvas.max(axis=0) > 20)[0]
    return canvas[:, xs.min() : xs.max() + 1].astype(np.float32) / 255.0


# Per variant: where the tick starts (fractions of the zero's width and height), how far right
# of the zero it ends, and its stroke as a fraction of the font's.
_Q_TICKS = ((0.62, 0.72, 0.04, 0.8), (0.55, 0.8, 0.0, 0.65), (0.68, 0.66, 0.1, 0.9), (0.6, 0.84, 0.02, 0.55))


def _tick_tailed_q(zero: np.ndarray, variant: int, stroke: int) -> np.ndarray:
    """Q as the plate's zero (`zero`, a tight mask) with a short diagonal tick at its bottom right."""
    start_x, start_y, overshoot, thickness = _Q_TICKS[(variant - 1) % len(_Q_TICKS)]
    height, width = zero.shape
    tick = max(1, round(stroke * thickness))
    canvas = np.zeros((height, width + round(overshoot * width) + tick), np.float32)
    canvas[:, :width] = zero
    ink = np.zeros(canvas.shape, np.uint8)
    shift = 4  # cv2 draws sub-pixel coordinates in fixed point
    points = np.array([(start_x * width, start_y * height), ((1 + overshoot) * width, height - tick / 2)])
    start, end = (tuple(int(v) for v in np.round(p * (1 << shift))) for p in points)
    cv2.line(ink, start, end, 255, tick, cv2.LINE_AA, shift)
    canvas = np.maximum(canvas, ink.astype(np.float32) / 255.0)
    xs = np.nonzero(canvas.max(axis=0) > 0.08)[0]
    return canvas[:, xs.min() : xs.max() + 1]


# Plate typefaces draw the letter O rounder and wider than the digit 0 (FE-Schrift was drawn so
# that no O can be painted into a 0); the other fonts' O is 1.21-1.46 times as wide as their 0.
# OSP-DIN's O is a copy of its 0, and on the plates where both may stand in one place (AT
# serials, PL, NL) that made a quarter of the synthetic O unreadable as O.
O_WIDER_THAN_ZERO = 1.25


def _distinct_letter_o(letter_o: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """`letter_o`, or the font's `zero` widened at its middle when the font draws O as its 0.

    Columns are repeated at the middle, so the sides keep their curve and the strokes their
    weight: a stadium-shaped O, as DIN 1451 draws it."""
    if letter_o.shape != zero.shape or float(np.abs(letter_o - zero).mean()) > 0.01:
        return letter_o
    width = zero.shape[1]
    extra = max(1, round(width * (O_WIDER_THAN_ZERO - 1.0)))
    middle = width // 2
    straight = np.repeat(zero[:, middle : middle + 1], extra, axis=1)
    return np.concatenate([zero[:, :middle], straight, zero[:, middle:]], axis=1)


def _rasterise(font: Path, char: str, weight: int) -> np.ndarray:
    pil_font = ImageFont.truetype(str(font), _RENDER_SIZE)
    left, top, right, bottom = pil_font.getbbox(char)
    if right - left <= 0 or bottom - top <= 0:
        raise ValueError(f"font {font.name} has no glyph for {char!r}")
    pad = 8
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), char, font=pil_font, fill=255)
    mask = np.asarray(image, dtype=np.uint8)
    if weight != 0:
        # Stroke weight varies between plate makers and with paint wear; 160 px glyphs have
        # ~20 px strokes, so each step is about 10% of the stroke.
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(weight) + 1, 2 * abs(weight) + 1))
        mask = cv2.dilate(mask, kernel) if weight > 0 else cv2.erode(mask, kernel)
    ys, xs = np.nonzero(mask > 20)
    if len(xs) == 0:
        raise ValueError(f"glyph {char!r} of {font.name} vanished at stroke weight {weight}")
    mask = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return mask.astype(np.float32) / 255.0
