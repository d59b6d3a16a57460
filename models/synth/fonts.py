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
    _cache: dict[tuple[str, str, int], np.ndarray] = field(default_factory=dict, repr=False)

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

    def glyph(self, font: Path, char: str, weight: int = 0) -> np.ndarray:
        """Tight float32 alpha mask (0..1) of one glyph; `weight` thickens (>0) or thins (<0) strokes."""
        key = (str(font), char, weight)
        mask = self._cache.get(key)
        if mask is None:
            mask = _rasterise(font, char, weight)
            self._cache[key] = mask
        return mask

    def glyph_or_fallback(self, font: Path, char: str, weight: int = 0) -> np.ndarray:
        """`glyph`, or the first sans font's glyph when `font` lacks `char`.

        RoadNumbers only has the twelve GOST letters (and D) among the Latin capitals."""
        try:
            return self.glyph(font, char, weight)
        except ValueError:
            return self.glyph(self.sans[0], char, weight)


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
