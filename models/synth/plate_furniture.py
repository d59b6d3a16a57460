"""What a plate shows besides its glyphs: country bands at the left, the French, Italian and
Portuguese right bands, and what stands between glyph groups (hyphens, German seals, coats of
arms, registration stickers). Which plate gets what is `plate_looks.LOOKS`; none of it is a glyph
the reader must output, all of it is something it must learn to ignore.
"""

from __future__ import annotations

import cv2
import numpy as np

from common.plates.registry import load_registry
from models.synth.fonts import FontSet
from models.synth.plate_canvas import BGR, Canvas, draw_flag, draw_small_text, jitter, text_width
from models.synth.plate_looks import RightBand, Separator

EU_BLUE: BGR = (150, 60, 10)
EU_YELLOW: BGR = (0, 210, 250)
WHITE: BGR = (250, 250, 250)
# Codes printed on national (non-EU) bands where they differ from the registry's band code.
PRINTED_BAND_CODES = {"KG": "KG"}
# UK plates show "UK" since 2021 and "GB" (with the EU stars) before.
BAND_CODE_ALTERNATIVES = {"UK": ("UK", "GB")}
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
# Italian provinces shown on the optional right-band sticker (a sample of them: distraction only).
IT_PROVINCES = (
    "RM", "MI", "TO", "NA", "BO", "FI", "GE", "VE", "PA", "BA", "CT", "VR", "PD", "BS", "BG",
    "MO", "PR", "TV", "VI", "LE", "SA", "CA", "AN", "PG", "TN", "BZ", "UD", "AO", "CZ", "SS",
)  # fmt: skip
# Colours of coats of arms: (pattern, field, charge). SK: white double cross on red; HR: the red
# and white chequy; AT/SI/RS/ME/LI/HU: state or town arms, drawn as their dominant colours.
ARMS: dict[str, list[tuple[str, BGR, BGR]]] = {
    "SK": [("cross", (40, 40, 200), (250, 250, 250))],
    "HR": [("checker", (40, 40, 210), (250, 250, 250))],
    "AT": [
        ("stripes", (40, 40, 200), (250, 250, 250)),
        ("blob", (30, 190, 240), (30, 30, 30)),
        ("halves", (40, 40, 200), (250, 250, 250)),
        ("blob", (60, 140, 40), (250, 250, 250)),
        ("stripes", (30, 30, 30), (30, 200, 240)),
    ],
    "RS": [("blob", (40, 40, 200), (250, 250, 250))],
    "HU": [("halves", (40, 40, 200), (60, 140, 40))],
    "ME": [("blob", (40, 40, 200), (30, 190, 240))],
    "LI": [("halves", (150, 60, 10), (40, 40, 200))],
}
DEFAULT_ARMS = [
    ("blob", (40, 40, 200), (250, 250, 250)),
    ("halves", (150, 60, 10), (30, 200, 240)),
    ("stripes", (60, 140, 40), (250, 250, 250)),
]
# German inspection (HU) stickers change colour by year; state seals are light with a coloured centre.
HU_COLORS: list[BGR] = [
    (0, 140, 250),
    (200, 120, 30),
    (0, 220, 250),
    (40, 80, 130),
    (170, 110, 250),
    (60, 170, 60),
]
# Extra gap per separator, in glyph heights (the glyph spacing comes on top).
GAP_WIDTH: dict[str, tuple[float, float]] = {
    "tight": (0.0, 0.0),
    "space": (0.12, 0.3),
    "dot": (0.18, 0.3),
    "hyphen": (0.3, 0.45),
    "arms": (0.48, 0.62),
    "sticker": (0.45, 0.6),
    "seal": (0.62, 0.78),
}


def printed_band_code(country: str, rng: np.random.Generator) -> str:
    """The distinguishing sign on a plate's band (F, I, PL, D, A ...): the registry's band code."""
    if country in PRINTED_BAND_CODES:
        return PRINTED_BAND_CODES[country]
    code = load_registry().country(country).band_code or country
    choices = BAND_CODE_ALTERNATIVES.get(code)
    return choices[int(rng.integers(len(choices)))] if choices else code


def draw_left_band(
    canvas: Canvas, fonts: FontSet, band: str, country: str, h_mm: float, ink: BGR, rng: np.random.Generator
) -> float:
    """Left country band (EU blue with stars, or a national flag and code); returns its right edge in mm."""
    width = 42.0 if band == "EU" else 40.0
    code = printed_band_code(country, rng)
    if band == "EU" or (country == "UA" and rng.random() < 0.5):
        canvas.rect(3, 3, width, h_mm - 3, jitter(rng, EU_BLUE, 15))
        if band == "EU":
            cx, cy, r = 3 + (width - 3) / 2, h_mm * 0.3, 11.0
            for k in range(12):
                a = 2 * np.pi * k / 12
                cv2.circle(
                    canvas.image,
                    (canvas.px(cx + r * np.cos(a)), canvas.px(cy + r * np.sin(a))),
                    max(1, canvas.px(1.6)),
                    EU_YELLOW,
                    -1,
                )
        else:
            draw_flag(canvas, 9, 12, 26, 17, BAND_FLAGS.get(country, [WHITE]))
        text_ink: BGR = WHITE
    else:
        draw_flag(canvas, 7, 12, 28, 18, BAND_FLAGS.get(country, [WHITE]))
        text_ink = ink
    code_h = min(h_mm, 112.0) * (0.26 if len(code) <= 2 else 0.2)
    _centered_text(canvas, fonts, code, 4.0, width - 1.0, h_mm * 0.6, code_h, text_ink, rng)
    return width


def _centered_text(
    canvas: Canvas,
    fonts: FontSet,
    text: str,
    x0: float,
    x1: float,
    y: float,
    h: float,
    ink: BGR,
    rng: np.random.Generator,
) -> None:
    font = fonts.sans[int(rng.integers(len(fonts.sans)))]
    w = text_width(fonts, font, text, h)
    if w > (x1 - x0) * 0.95:  # too wide for the band: shrink to fit
        h *= (x1 - x0) * 0.95 / w
        w = (x1 - x0) * 0.95
    draw_small_text(canvas, fonts, text, x0 + (x1 - x0 - w) / 2, y, h, ink, rng, font=font)


def _logo(canvas: Canvas, x0: float, y0: float, x1: float, y1: float, rng: np.random.Generator) -> None:
    """A French regional logo: a few coloured shapes on a light ground."""
    canvas.rect(x0, y0, x1, y1, jitter(rng, (235, 235, 235), 20))
    for _ in range(int(rng.integers(1, 4))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = rng.uniform(0.15, 0.4) * (x1 - x0)
        if rng.random() < 0.5:
            cv2.circle(canvas.image, (canvas.px(cx), canvas.px(cy)), max(1, canvas.px(r)), color, -1)
        else:
            canvas.rect(max(x0, cx - r), max(y0, cy - r / 2), min(x1, cx + r), min(y1, cy + r / 2), color)


def draw_right_band(
    canvas: Canvas,
    fonts: FontSet,
    kind: RightBand,
    w_mm: float,
    h_mm: float,
    inset: float,
    rng: np.random.Generator,
) -> float:
    """The right band of a French, Italian or Portuguese plate; returns its left edge in mm."""
    width = rng.uniform(32.0, 40.0)
    x0, x1 = w_mm - inset - width, w_mm - inset
    y0, y1 = inset + 1, h_mm - inset - 1
    if kind == "PT":
        canvas.rect(x0, y0, x1, y1, jitter(rng, (40, 200, 240), 15))
        ink: BGR = (20, 20, 20)
        year, month = int(rng.integers(92, 120)) % 100, int(rng.integers(1, 13))
        _centered_text(canvas, fonts, f"{year:02d}", x0, x1, h_mm * 0.12, h_mm * 0.3, ink, rng)
        _centered_text(canvas, fonts, f"{month:02d}", x0, x1, h_mm * 0.55, h_mm * 0.3, ink, rng)
        return x0
    canvas.rect(x0, y0, x1, y1, jitter(rng, EU_BLUE, 15))
    if kind == "FR":
        # Regional logo at the top, the owner's department number below it, both in the band.
        departments = load_registry().country("FR").tables["department"]
        dept = departments[int(rng.integers(len(departments)))]
        pad = width * 0.12
        _logo(canvas, x0 + pad, h_mm * 0.1, x1 - pad, h_mm * 0.48, rng)
        _centered_text(canvas, fonts, dept, x0, x1, h_mm * 0.56, h_mm * 0.3, WHITE, rng)
    else:  # IT: year sticker (top) and province code (bottom), both optional
        if rng.random() < 0.6:
            year = int(rng.integers(0, 26))
            _centered_text(canvas, fonts, f"{year:02d}", x0, x1, h_mm * 0.12, h_mm * 0.22, EU_YELLOW, rng)
        if rng.random() < 0.6:
            prov = IT_PROVINCES[int(rng.integers(len(IT_PROVINCES)))]
            _centered_text(canvas, fonts, prov, x0, x1, h_mm * 0.55, h_mm * 0.28, WHITE, rng)
    return x0


def draw_edge_stripes(
    canvas: Canvas, color: BGR, w_mm: float, h_mm: float, inset: float, rng: np.random.Generator
) -> float:
    """Austrian red stripes along the top and bottom edges, inside the rim; returns their height in mm."""
    stripe = h_mm * rng.uniform(0.08, 0.11)
    c = jitter(rng, color, 15)
    canvas.rect(inset, inset, w_mm - inset, inset + stripe, c)
    canvas.rect(inset, h_mm - inset - stripe, w_mm - inset, h_mm - inset, c)
    return stripe


def gap_width(kind: Separator, rng: np.random.Generator) -> float:
    """Extra width of a gap holding `kind`, in glyph heights."""
    lo, hi = GAP_WIDTH[kind]
    return float(rng.uniform(lo, hi)) if hi > lo else lo


def _shield(canvas: Canvas, cx: float, cy: float, w: float, country: str, rng: np.random.Generator) -> None:
    choices = ARMS.get(country, DEFAULT_ARMS)
    pattern, field, charge = choices[int(rng.integers(len(choices)))]
    h = w * 1.2
    top, left, right, bottom = cy - h / 2, cx - w / 2, cx + w / 2, cy + h / 2
    outline = np.array(
        [(left, top), (right, top), (right, cy + h * 0.1), (cx, bottom), (left, cy + h * 0.1)], np.float64
    )
    pts = np.round(outline * canvas.scale).astype(np.int32)
    mask = np.zeros(canvas.image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [pts], 255)
    layer = canvas.image.copy()
    layer[:] = field
    if pattern == "cross":  # double cross on a hill (Slovakia)
        canvas_layer = Canvas(layer, canvas.scale)
        bar = w * 0.12
        canvas_layer.rect(cx - bar / 2, top + h * 0.1, cx + bar / 2, top + h * 0.75, charge)
        canvas_layer.rect(cx - w * 0.3, top + h * 0.25, cx + w * 0.3, top + h * 0.25 + bar, charge)
        canvas_layer.rect(cx - w * 0.22, top + h * 0.45, cx + w * 0.22, top + h * 0.45 + bar, charge)
        canvas_layer.rect(left, top + h * 0.75, right, bottom, (150, 60, 10))
    elif pattern == "checker":
        n = 5
        for i in range(n):
            for j in range(n):
                if (i + j) % 2:
                    Canvas(layer, canvas.scale).rect(
                        left + j * w / n,
                        top + i * h / n,
                        left + (j + 1) * w / n,
                        top + (i + 1) * h / n,
                        charge,
                    )
    elif pattern == "stripes":
        Canvas(layer, canvas.scale).rect(left, top + h / 3, right, top + 2 * h / 3, charge)
    elif pattern == "halves":
        Canvas(layer, canvas.scale).rect(cx, top, right, bottom, charge)
    else:  # a charge (eagle, lion, tower) as a blob in the middle
        axes = (max(1, canvas.px(w * 0.28)), max(1, canvas.px(h * 0.3)))
        cv2.ellipse(layer, (canvas.px(cx), canvas.px(cy)), axes, 0, 0, 360, charge, -1)
    canvas.image[mask > 0] = layer[mask > 0]
    cv2.polylines(canvas.image, [pts], True, (30, 30, 30), max(1, canvas.px(0.8)), cv2.LINE_AA)


def _disc(
    canvas: Canvas, cx: float, cy: float, r: float, color: BGR, rng: np.random.Generator, sectors: bool
) -> None:
    c = (canvas.px(cx), canvas.px(cy))
    cv2.circle(canvas.image, c, max(1, canvas.px(r)), color, -1, cv2.LINE_AA)
    dark = (40, 40, 40)
    if sectors:  # inspection sticker: numbered ring of months, a year in the middle
        for k in range(12):
            a = 2 * np.pi * k / 12
            end = (canvas.px(cx + r * 0.95 * np.cos(a)), canvas.px(cy + r * 0.95 * np.sin(a)))
            cv2.line(canvas.image, c, end, dark, 1, cv2.LINE_AA)
        cv2.circle(canvas.image, c, max(1, canvas.px(r * 0.45)), color, -1)
        canvas.rect(cx - r * 0.3, cy - r * 0.12, cx + r * 0.3, cy + r * 0.12, dark)
    else:  # state seal: ring of small print around coloured arms
        cv2.circle(canvas.image, c, max(1, canvas.px(r * 0.85)), dark, 1, cv2.LINE_AA)
        inner = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(canvas.image, c, max(1, canvas.px(r * 0.45)), inner, -1)
    cv2.circle(canvas.image, c, max(1, canvas.px(r)), (90, 90, 90), 1, cv2.LINE_AA)


def draw_separator(
    canvas: Canvas,
    kind: Separator,
    x0: float,
    x1: float,
    top: float,
    bottom: float,
    ink: BGR,
    country: str,
    rng: np.random.Generator,
) -> None:
    """Draw `kind` in the gap [x0, x1] (mm) beside glyphs spanning rows [top, bottom] (mm)."""
    span, height = x1 - x0, bottom - top
    cx, cy = (x0 + x1) / 2, (top + bottom) / 2
    if kind in ("tight", "space"):
        return
    if kind == "hyphen":
        w = min(span * 0.7, height * rng.uniform(0.2, 0.3))
        t = height * rng.uniform(0.08, 0.12)
        y = cy + height * rng.uniform(-0.04, 0.04)
        canvas.rect(cx - w / 2, y - t / 2, cx + w / 2, y + t / 2, ink)
    elif kind == "dot":
        r = min(span * 0.35, height * rng.uniform(0.05, 0.08))
        shade = int(rng.integers(60, 200))
        cv2.circle(
            canvas.image, (canvas.px(cx), canvas.px(cy)), max(1, canvas.px(r)), (shade,) * 3, -1, cv2.LINE_AA
        )
    elif kind == "arms":
        _shield(canvas, cx, cy, min(span * 0.85, height * 0.45), country, rng)
    elif kind == "seal":
        r = min(span * 0.4, height * 0.24)
        state_seal = jitter(rng, (225, 225, 225), 20)
        if rng.random() < 0.6:  # rear plate: inspection sticker above the state seal
            _disc(canvas, cx, top + height * 0.26, r, HU_COLORS[int(rng.integers(len(HU_COLORS)))], rng, True)
            _disc(canvas, cx, top + height * 0.74, r, state_seal, rng, False)
        else:
            _disc(canvas, cx, top + height * rng.uniform(0.5, 0.74), r, state_seal, rng, False)
    elif kind == "sticker":
        w = min(span * 0.85, height * 0.42)
        h = w * rng.uniform(1.0, 1.4)
        color = tuple(int(v) for v in rng.integers(60, 256, 3))
        if rng.random() < 0.5:  # rectangular (PL legalisation: light top, red bottom, hologram)
            canvas.rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, jitter(rng, (235, 235, 235), 20))
            canvas.rect(cx - w / 2, cy, cx + w / 2, cy + h / 2, color)
            canvas.rect(cx - w / 4, cy - h / 3, cx + w / 4, cy - h / 8, jitter(rng, (175, 175, 175), 40))
        else:  # round (CZ inspection/emission)
            _disc(canvas, cx, cy, w / 2, color, rng, True)
