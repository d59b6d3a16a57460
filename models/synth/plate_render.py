"""Front-view plate images per plate style, drawn in millimetres and rasterised at `px_per_mm`.

Layouts follow the real standards closely enough for a reader to learn the glyphs where they
really are: Russian GOST R 50577 (520x112 mm, letters 58 mm and digits 76 mm tall on one
baseline, region block with RUS and flag behind a divider), its square two-row variants, and
the Ukrainian, Kazakh, Belarusian and EU one-row plates with their left country bands.
Images are BGR uint8, exactly the plate (the holder frame is added by `frame.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from common.plates.alphabet import to_latin
from common.plates.formats import PlateFormat
from common.plates.registry import load_registry
from models.synth.fonts import FontSet

BGR = tuple[int, int, int]

COLORS: dict[str, BGR] = {
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "yellow": (40, 200, 240),
    "blue": (150, 75, 20),
    "red": (40, 40, 190),
    "green": (60, 130, 30),
}
# What the left band of a non-Russian plate says (EU plates show the distinguishing sign).
BAND_CODES = {
    "DE": "D",
    "FI": "FIN",
    "EE": "EST",
    "CZ": "CZ",
    "PL": "PL",
    "LT": "LT",
    "LV": "LV",
    "AM": "AM",
    "GE": "GE",
    "MD": "MD",
    "KG": "KG",
    "UZ": "UZ",
    "UA": "UA",
    "BY": "BY",
    "KZ": "KZ",
}
BAND_FLAGS: dict[str, list[BGR]] = {
    "UA": [(180, 90, 0), (0, 210, 250)],
    "BY": [(40, 40, 200), (40, 40, 200), (60, 150, 40)],
    "KZ": [(200, 170, 0)],
    "AM": [(40, 40, 210), (150, 60, 10), (0, 160, 250)],
    "GE": [(250, 250, 250)],
    "MD": [(150, 60, 10)],
    "KG": [(40, 40, 210)],
    "UZ": [(200, 150, 30), (250, 250, 250), (60, 160, 40)],
}


@dataclass(frozen=True)
class PlateStyle:
    """How one plate format looks: size, colours, font, where the region and the country go."""

    key: str
    country: str
    size_mm: tuple[float, float]
    background: BGR
    ink: BGR
    gost_font: bool  # the GOST R 50577 typeface (Russian plates)
    region_box: bool  # the last glyph group sits in a boxed region field at the right
    rus_flag: bool  # "RUS" and the tricolour under the region code
    band: str | None  # left band: "EU" (blue with stars) or a national flag band
    band_code: str
    rows: int
    weight: float  # sampling prior from the registry

    @property
    def id(self) -> str:
        return self.key

    @property
    def two_rows(self) -> bool:
        return self.rows == 2


def style_for_format(fmt: PlateFormat) -> PlateStyle:
    """The look of a registry plate format (the registry says what; this says how it looks)."""
    russian = fmt.country == "RU"
    if fmt.rows == 2:
        size = (245.0, 160.0) if fmt.plate_type == "motorcycle" else (290.0, 170.0)
    else:
        size = (520.0, 112.0) if fmt.country in ("RU", "UA", "BY", "KZ") else (520.0, 110.0)
    band = None
    if "eu_band" in fmt.decorations:
        band = "EU"
    elif "flag" in fmt.decorations and not russian:
        band = "FLAG"
    return PlateStyle(
        key=fmt.key,
        country=fmt.country,
        size_mm=size,
        background=COLORS.get(fmt.colors.background, COLORS["white"]),
        ink=COLORS.get(fmt.colors.text, COLORS["black"]),
        gost_font=russian,
        region_box="region_box" in fmt.decorations or fmt.country == "KZ",
        rus_flag=russian and "flag" in fmt.decorations,
        band=band,
        band_code=BAND_CODES.get(fmt.country, fmt.country),
        rows=fmt.rows,
        weight=fmt.weight,
    )


def glyph_rows(fmt: PlateFormat, text: str) -> list[list[str]]:
    """Display groups per row in Latin glyphs, e.g. [['A', '123'], ['BC', '77']]."""
    return [[to_latin(group) for group in row] for row in fmt.layout(text)]


REGISTRY_FORMATS: dict[str, PlateFormat] = {f.key: f for f in load_registry().formats}
# Every registry format's look, by format key ("RU/standard"); weights are the registry's priors.
PLATE_STYLES: dict[str, PlateStyle] = {key: style_for_format(f) for key, f in REGISTRY_FORMATS.items()}


def random_text(style: PlateStyle, rng: np.random.Generator) -> str:
    """A random canonical plate text of the style's registry format."""
    return REGISTRY_FORMATS[style.key].random_text(rng)


@dataclass
class _Canvas:
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


def _jitter(rng: np.random.Generator, color: BGR, amount: int) -> BGR:
    c = np.clip(np.asarray(color) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return (int(c[0]), int(c[1]), int(c[2]))


def _place_groups(
    canvas: _Canvas,
    fonts: FontSet,
    groups: list[str],
    x0: float,
    x1: float,
    baseline: float,
    heights: list[float],
    font: Path,
    weight: int,
    ink: BGR,
    rng: np.random.Generator,
) -> None:
    """Lay glyph groups left to right in [x0, x1] on `baseline`, each group with its glyph height."""
    sizes: list[list[tuple[np.ndarray, float, float]]] = []
    for group, h in zip(groups, heights, strict=True):
        row = []
        for ch in group:
            mask = fonts.glyph_or_fallback(font, ch, weight)
            aspect = mask.shape[1] / mask.shape[0]
            row.append((mask, aspect * h, h))
        sizes.append(row)
    intra = rng.uniform(0.06, 0.14) * float(np.mean(heights))
    inter = intra + rng.uniform(0.12, 0.3) * float(np.mean(heights))
    glyph_w = sum(w for row in sizes for _, w, _ in row)
    gaps = sum(intra * (len(row) - 1) for row in sizes) + inter * (len(sizes) - 1)
    avail = x1 - x0
    squeeze = min(1.0, avail * 0.96 / (glyph_w + gaps))
    total = (glyph_w + gaps) * squeeze
    x = x0 + (avail - total) * rng.uniform(0.35, 0.65)
    for gi, row in enumerate(sizes):
        for ci, (mask, w, h) in enumerate(row):
            y = baseline - h + rng.normal(0, 0.6)
            canvas.draw_glyph(mask, x, y, w * squeeze, h, ink)
            x += w * squeeze + (intra * squeeze if ci < len(row) - 1 else 0)
        if gi < len(sizes) - 1:
            x += inter * squeeze


def _draw_flag(canvas: _Canvas, x: float, y: float, w: float, h: float, colors: list[BGR]) -> None:
    stripe = h / len(colors)
    for i, color in enumerate(colors):
        cv2.rectangle(
            canvas.image,
            (canvas.px(x), canvas.px(y + i * stripe)),
            (canvas.px(x + w), canvas.px(y + (i + 1) * stripe)),
            color,
            -1,
        )
    cv2.rectangle(
        canvas.image, (canvas.px(x), canvas.px(y)), (canvas.px(x + w), canvas.px(y + h)), (40, 40, 40), 1
    )


RU_FLAG: list[BGR] = [(250, 250, 250), (170, 60, 0), (30, 30, 210)]


def _draw_small_text(
    canvas: _Canvas,
    fonts: FontSet,
    text: str,
    x: float,
    y: float,
    h: float,
    ink: BGR,
    rng: np.random.Generator,
) -> float:
    """Small print (RUS, country codes) in a sans font; returns the right edge in mm."""
    font = fonts.sans[rng.integers(len(fonts.sans))]
    for ch in text:
        mask = fonts.glyph(font, ch, 0)
        w = mask.shape[1] / mask.shape[0] * h
        canvas.draw_glyph(mask, x, y, w, h, ink)
        x += w + 0.12 * h
    return x


def _draw_region_block(
    canvas: _Canvas,
    fonts: FontSet,
    region: str,
    x0: float,
    x1: float,
    top: float,
    bottom: float,
    ink: BGR,
    font: Path,
    weight: int,
    rng: np.random.Generator,
    with_rus: bool = True,
) -> None:
    height = bottom - top
    digit_h = height * (0.58 if with_rus else 0.8)
    _place_groups(
        canvas,
        fonts,
        [region],
        x0 + 2,
        x1 - 2,
        top + digit_h + height * 0.06,
        [digit_h],
        font,
        weight,
        ink,
        rng,
    )
    if with_rus:
        rus_h = height * rng.uniform(0.13, 0.17)
        y = bottom - rus_h - height * 0.1
        flag_w = (x1 - x0) * 0.3
        x_text = x0 + (x1 - x0) * rng.uniform(0.06, 0.12)
        end = _draw_small_text(canvas, fonts, "RUS", x_text, y, rus_h, ink, rng)
        _draw_flag(canvas, min(end + 3, x1 - flag_w - 2), y, flag_w, rus_h * 1.05, RU_FLAG)


def _draw_band(canvas: _Canvas, fonts: FontSet, style: PlateStyle, rng: np.random.Generator) -> float:
    """Left country band (EU blue with stars, or a national flag and code); returns its right edge in mm."""
    h_mm = style.size_mm[1]
    width = 42.0 if style.band == "EU" else 40.0
    code = style.band_code
    if style.band == "EU" or (style.country == "UA" and rng.random() < 0.5):
        cv2.rectangle(
            canvas.image,
            (canvas.px(3), canvas.px(3)),
            (canvas.px(width), canvas.px(h_mm - 3)),
            (150, 60, 10),
            -1,
        )
        if style.band == "EU":
            cx, cy, r = 3 + (width - 3) / 2, h_mm * 0.3, 11.0
            for k in range(12):
                a = 2 * np.pi * k / 12
                cv2.circle(
                    canvas.image,
                    (canvas.px(cx + r * np.cos(a)), canvas.px(cy + r * np.sin(a))),
                    max(1, canvas.px(1.6)),
                    (0, 210, 250),
                    -1,
                )
        else:
            _draw_flag(canvas, 9, 12, 26, 17, BAND_FLAGS.get(style.country, [(250, 250, 250)]))
        text_ink: BGR = (250, 250, 250)
    else:
        _draw_flag(canvas, 7, 12, 28, 18, BAND_FLAGS.get(style.country, [(250, 250, 250)]))
        text_ink = style.ink
    code_h = h_mm * (0.26 if len(code) <= 2 else 0.2)
    _draw_small_text(canvas, fonts, code, 7 + (3 - len(code)) * 4, h_mm * 0.6, code_h, text_ink, rng)
    return width


def _draw_bolts(canvas: _Canvas, positions: list[tuple[float, float]], rng: np.random.Generator) -> None:
    for x, y in positions:
        r = rng.uniform(3.0, 6.0)
        shade = int(rng.integers(40, 200))
        center = (canvas.px(x), canvas.px(y))
        cv2.circle(canvas.image, center, max(1, canvas.px(r)), (shade, shade, shade), -1, cv2.LINE_AA)
        hi = min(255, shade + 60)
        cv2.circle(
            canvas.image,
            (center[0] - canvas.px(r * 0.3), center[1] - canvas.px(r * 0.3)),
            max(1, canvas.px(r * 0.35)),
            (hi, hi, hi),
            -1,
            cv2.LINE_AA,
        )


def render_plate(
    style: PlateStyle,
    text: str | list[list[str]],
    fonts: FontSet,
    rng: np.random.Generator,
    px_per_mm: float = 1.0,
) -> np.ndarray:
    """The plate of `style` showing `text` (a plate string of its format, or glyph groups per row
    as `glyph_rows` gives them), BGR uint8, front view."""
    rows = glyph_rows(REGISTRY_FORMATS[style.key], text) if isinstance(text, str) else text
    if len(rows) != style.rows:
        raise ValueError(f"{style.key} has {style.rows} row(s), got {len(rows)}")
    w_mm, h_mm = style.size_mm
    bg = _jitter(rng, style.background, 12)
    ink = _jitter(rng, style.ink, 15)
    image = np.empty((round(h_mm * px_per_mm), round(w_mm * px_per_mm), 3), np.uint8)
    image[:] = bg
    canvas = _Canvas(image, px_per_mm, text_ink=ink, text_alpha=np.zeros(image.shape[:2], np.float32))
    weight = int(rng.choice([-2, -1, 0, 0, 0, 1, 2, 3])) if style.gost_font else int(rng.integers(-1, 3))
    font = fonts.gost if style.gost_font else fonts.sans[rng.integers(len(fonts.sans))]
    has_region = style.region_box and len(rows[-1]) > 1

    # Black rim stamped around the plate edge.
    rim = rng.uniform(1.0, 3.0)
    inset = rng.uniform(1.0, 3.0)
    cv2.rectangle(
        image,
        (canvas.px(inset), canvas.px(inset)),
        (canvas.px(w_mm - inset), canvas.px(h_mm - inset)),
        ink,
        max(1, canvas.px(rim)),
        cv2.LINE_AA,
    )

    left = 6.0
    if style.band:
        left = _draw_band(canvas, fonts, style, rng) + 4.0
    bolts: list[tuple[float, float]] = []
    if not style.two_rows:
        region_w = 128.0 if style.gost_font else 95.0
        region_x = w_mm - region_w if has_region else w_mm
        if has_region:
            cv2.line(
                image,
                (canvas.px(region_x), canvas.px(inset)),
                (canvas.px(region_x), canvas.px(h_mm - inset)),
                ink,
                max(1, canvas.px(rim)),
            )
        main_groups = rows[0][:-1] if has_region else rows[0]
        letter_h, digit_h = (58.0, 76.0) if style.gost_font else (h_mm * 0.66, h_mm * 0.66)
        heights = [digit_h if g[0].isdigit() else letter_h for g in main_groups]
        baseline = h_mm - (h_mm - max(heights)) / 2 + rng.normal(0, 1.0)
        _place_groups(
            canvas, fonts, main_groups, left, region_x - 4, baseline, heights, font, weight, ink, rng
        )
        if has_region:
            _draw_region_block(
                canvas,
                fonts,
                rows[0][-1],
                region_x + rim,
                w_mm - inset - rim,
                7.0,
                h_mm - 4.0,
                ink,
                font,
                weight,
                rng,
                with_rus=style.rus_flag,
            )
        bolt_mode = rng.random()
        if bolt_mode < 0.6:
            bolts = [
                (rng.uniform(8, 14), h_mm / 2 + rng.normal(0, 3)),
                (w_mm - rng.uniform(8, 14), h_mm / 2 + rng.normal(0, 3)),
            ]
        elif bolt_mode < 0.75:
            bolts = [(w_mm * 0.2, rng.uniform(6, 12)), (w_mm * 0.8, rng.uniform(6, 12))]
    else:
        top_groups = rows[0]
        bottom_groups = rows[1][:-1] if has_region else rows[1]
        top_h = h_mm * 0.44
        _place_groups(
            canvas,
            fonts,
            top_groups,
            8,
            w_mm - 8,
            h_mm * 0.08 + top_h,
            [top_h] * len(top_groups),
            font,
            weight,
            ink,
            rng,
        )
        bottom_h = h_mm * 0.36
        bottom_base = h_mm - h_mm * 0.08
        region_x = w_mm * 0.55 if has_region else w_mm - 8
        _place_groups(
            canvas,
            fonts,
            bottom_groups,
            8,
            region_x - 3,
            bottom_base,
            [bottom_h] * len(bottom_groups),
            font,
            weight,
            ink,
            rng,
        )
        if has_region:
            _draw_region_block(
                canvas,
                fonts,
                rows[1][-1],
                region_x,
                w_mm - 6,
                h_mm * 0.5,
                h_mm - 4,
                ink,
                font,
                weight,
                rng,
                with_rus=style.rus_flag,
            )
        if rng.random() < 0.6:
            bolts = [(w_mm * 0.5, rng.uniform(5, 9)), (w_mm * 0.5, h_mm - rng.uniform(5, 9))]
    canvas.flush()
    _draw_bolts(canvas, bolts, rng)
    return image
