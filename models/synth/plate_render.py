"""Front-view plate images per plate style, drawn in millimetres and rasterised at `px_per_mm`.

Layouts follow the real standards closely enough for a reader to learn the glyphs where they
really are: Russian GOST R 50577 (520x112 mm, letters 58 mm and digits 76 mm tall on one
baseline, region block with RUS and flag behind a divider), its square two-row variants, and
the Ukrainian, Kazakh, Belarusian and EU one-row plates with their left country bands. What
else a country's plates show (separators, seals, arms, right bands, typeface family) comes from
`plate_looks` and is drawn by `plate_furniture`.
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
from models.synth.fonts import PLATE_SHAPE_VARIANTS, FontSet
from models.synth.plate_canvas import BGR, Canvas, draw_flag, draw_small_text, jitter
from models.synth.plate_furniture import (
    draw_edge_stripes,
    draw_left_band,
    draw_right_band,
    draw_separator,
    gap_width,
)
from models.synth.plate_looks import DEFAULT_LOOK, PlateLook, Separator, look_for

COLORS: dict[str, BGR] = {
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "yellow": (40, 200, 240),
    "blue": (150, 75, 20),
    "red": (40, 40, 190),
    "green": (60, 130, 30),
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
    rows: int
    weight: float  # sampling prior from the registry
    look: PlateLook = DEFAULT_LOOK  # separators, right band, typeface (plate_looks)

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
        rows=fmt.rows,
        weight=fmt.weight,
        look=look_for(fmt),
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


def _place_groups(
    canvas: Canvas,
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
    gaps: list[float] | None = None,
    width_scale: float = 1.0,
    plate_shape: int = 0,
) -> list[tuple[float, float]]:
    """Lay glyph groups left to right in [x0, x1] on `baseline`, each group with its glyph height.

    `gaps` gives the extra blank between consecutive groups in glyph heights (default: a random
    word space); `width_scale` narrows or widens every glyph; `plate_shape` picks the plate-typeface
    W, M and Q (`FontSet.glyph`). Returns each gap's [left, right] in mm.
    """
    sizes: list[list[tuple[np.ndarray, float, float]]] = []
    for group, h in zip(groups, heights, strict=True):
        row = []
        for ch in group:
            mask = fonts.glyph_or_fallback(font, ch, weight, plate_shape)
            aspect = mask.shape[1] / mask.shape[0] * width_scale
            row.append((mask, aspect * h, h))
        sizes.append(row)
    mean_h = float(np.mean(heights))
    intra = rng.uniform(0.06, 0.14) * mean_h
    if gaps is None:
        gaps = [float(rng.uniform(0.12, 0.3))] * (len(sizes) - 1)
    inter = [intra + g * mean_h for g in gaps]
    glyph_w = sum(w for row in sizes for _, w, _ in row)
    blank = sum(intra * (len(row) - 1) for row in sizes) + sum(inter)
    avail = x1 - x0
    squeeze = min(1.0, avail * 0.96 / (glyph_w + blank))
    total = (glyph_w + blank) * squeeze
    x = x0 + (avail - total) * rng.uniform(0.35, 0.65)
    spans: list[tuple[float, float]] = []
    for gi, row in enumerate(sizes):
        for ci, (mask, w, h) in enumerate(row):
            y = baseline - h + rng.normal(0, 0.6)
            canvas.draw_glyph(mask, x, y, w * squeeze, h, ink)
            x += w * squeeze + (intra * squeeze if ci < len(row) - 1 else 0)
        if gi < len(sizes) - 1:
            spans.append((x, x + inter[gi] * squeeze))
            x += inter[gi] * squeeze
    return spans


RU_FLAG: list[BGR] = [(250, 250, 250), (170, 60, 0), (30, 30, 210)]


def _draw_region_block(
    canvas: Canvas,
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
) -> float:
    """Draws the region code (and RUS with the flag); returns the digits' height, mm."""
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
        end = draw_small_text(canvas, fonts, "RUS", x_text, y, rus_h, ink, rng)
        draw_flag(canvas, min(end + 3, x1 - flag_w - 2), y, flag_w, rus_h * 1.05, RU_FLAG)
    return digit_h


def _draw_bolts(canvas: Canvas, positions: list[tuple[float, float]], rng: np.random.Generator) -> None:
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


@dataclass(frozen=True)
class PlateLayout:
    """Where a rendered plate's furniture went, in pixels: for tests and inspection."""

    separators: list[tuple[Separator, int, int]]  # kind and [left, right) column of each gap
    right_band_x: int | None  # left column of the right band, if any
    glyphs_top: int
    glyphs_bottom: int
    left_band: str | None = None  # the left band drawn: "EU", "FLAG", or None
    # Height of the shortest glyph of the plate's text (region digits included), mm: what an
    # installation spec's minimum character height is about (`OcrSample.char_px`).
    char_mm: float = 0.0


def render_plate(
    style: PlateStyle,
    text: str | list[list[str]],
    fonts: FontSet,
    rng: np.random.Generator,
    px_per_mm: float = 1.0,
) -> np.ndarray:
    """The plate of `style` showing `text` (a plate string of its format, or glyph groups per row
    as `glyph_rows` gives them), BGR uint8, front view."""
    return render_plate_layout(style, text, fonts, rng, px_per_mm)[0]


def render_plate_layout(
    style: PlateStyle,
    text: str | list[list[str]],
    fonts: FontSet,
    rng: np.random.Generator,
    px_per_mm: float = 1.0,
) -> tuple[np.ndarray, PlateLayout]:
    """`render_plate`, plus where its separators and bands were drawn."""
    rows = glyph_rows(REGISTRY_FORMATS[style.key], text) if isinstance(text, str) else text
    if len(rows) != style.rows:
        raise ValueError(f"{style.key} has {style.rows} row(s), got {len(rows)}")
    look = style.look
    fmt = REGISTRY_FORMATS[style.key]
    background, text_color = look.colors(fmt.colors.background, fmt.colors.text, rng)
    w_mm, h_mm = style.size_mm
    bg = jitter(rng, COLORS.get(background, style.background), 12)
    ink = jitter(rng, COLORS.get(text_color, style.ink), 15)
    image = np.empty((round(h_mm * px_per_mm), round(w_mm * px_per_mm), 3), np.uint8)
    image[:] = bg
    canvas = Canvas(image, px_per_mm, text_ink=ink, text_alpha=np.zeros(image.shape[:2], np.float32))
    plate_shape = 0
    if style.gost_font:
        weight = int(rng.choice([-2, -1, 0, 0, 0, 1, 2, 3]))
        font = fonts.gost
    else:  # stroke weight varies between plate makers and with wear
        weight = int(rng.choice([-2, -1, 0, 0, 1, 1, 2, 3]))
        font = look.pick_font(fonts, rng)
        if rng.random() < look.plate_shapes_p:
            plate_shape = int(rng.integers(1, PLATE_SHAPE_VARIANTS + 1))
    width_scale = float(rng.uniform(*look.glyph_width))
    has_region = style.region_box and len(rows[-1]) > 1

    # Black rim stamped around the plate edge.
    rim = rng.uniform(1.0, 3.0)
    inset = rng.uniform(1.0, 3.0)
    if look.edge_stripes is not None:
        draw_edge_stripes(canvas, look.edge_stripes, w_mm, h_mm, inset, rng)
    cv2.rectangle(
        image,
        (canvas.px(inset), canvas.px(inset)),
        (canvas.px(w_mm - inset), canvas.px(h_mm - inset)),
        ink,
        max(1, canvas.px(rim)),
        cv2.LINE_AA,
    )

    left = 6.0
    band = style.band
    if band is None and look.eu_band_p and background != "black" and rng.random() < look.eu_band_p:
        band = "EU"
    if band:
        left = draw_left_band(canvas, fonts, band, style.country, h_mm, ink, rng) + 4.0
    right = w_mm
    right_band_x: int | None = None
    if look.right_band is not None and not has_region:
        right = draw_right_band(canvas, fonts, look.right_band, w_mm, h_mm, inset, rng)
        right_band_x = canvas.px(right)
    bolts: list[tuple[float, float]] = []
    separators: list[tuple[Separator, float, float]] = []
    if not style.two_rows:
        region_w = 128.0 if style.gost_font else 95.0
        region_x = w_mm - region_w if has_region else right
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
        kinds = look.separators(len(main_groups) - 1, rng)
        spans = _place_groups(
            canvas,
            fonts,
            main_groups,
            left,
            region_x - 4,
            baseline,
            heights,
            font,
            weight,
            ink,
            rng,
            gaps=[gap_width(k, rng) for k in kinds],
            width_scale=width_scale,
            plate_shape=plate_shape,
        )
        separators = [(k, a, b) for k, (a, b) in zip(kinds, spans, strict=True)]
        glyph_band = (baseline - max(heights), baseline)
        char_heights = list(heights)
        if has_region:
            region_digits = _draw_region_block(
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
            char_heights.append(region_digits)
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
            left,
            w_mm - 8,
            h_mm * 0.08 + top_h,
            [top_h] * len(top_groups),
            font,
            weight,
            ink,
            rng,
            plate_shape=plate_shape,
        )
        bottom_h = h_mm * 0.36
        char_heights = [top_h, bottom_h]
        bottom_base = h_mm - h_mm * 0.08
        region_x = w_mm * 0.55 if has_region else w_mm - 8
        _place_groups(
            canvas,
            fonts,
            bottom_groups,
            left,
            region_x - 3,
            bottom_base,
            [bottom_h] * len(bottom_groups),
            font,
            weight,
            ink,
            rng,
            plate_shape=plate_shape,
        )
        if has_region:
            region_digits = _draw_region_block(
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
            char_heights.append(region_digits)
        if rng.random() < 0.6:
            bolts = [(w_mm * 0.5, rng.uniform(5, 9)), (w_mm * 0.5, h_mm - rng.uniform(5, 9))]
        glyph_band = (h_mm * 0.08, h_mm * 0.92)
    canvas.flush()
    for kind, a, b in separators:
        draw_separator(canvas, kind, a, b, glyph_band[0], glyph_band[1], ink, style.country, rng)
    _draw_bolts(canvas, bolts, rng)
    layout = PlateLayout(
        separators=[(k, canvas.px(a), canvas.px(b)) for k, a, b in separators],
        right_band_x=right_band_x,
        glyphs_top=canvas.px(glyph_band[0]),
        glyphs_bottom=canvas.px(glyph_band[1]),
        left_band=band,
        char_mm=min(char_heights),
    )
    return image, layout
