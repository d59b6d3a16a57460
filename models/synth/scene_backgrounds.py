"""Procedural backgrounds for detector scenes: sky, roads, buildings, foliage, and hard negatives.

Everything is drawn from a numpy Generator, so a scene is a pure function of its seed. The
pieces imitate what surrounds plates in real street photos (asphalt, facades, trees, lane
markings) and what a weak detector confuses with a plate: text signs, blank white rectangles,
stripes and grilles.
"""

from __future__ import annotations

import cv2
import numpy as np

Color = tuple[int, int, int]

# cv2's Hershey fonts stand in for the many non-GOST typefaces on signs and shop fronts.
_HERSHEY_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
_SIGN_CHARS = "ABCDEFGHIJKLMNOPRSTUVWXYZ0123456789 -"


def random_color(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> Color:
    c = rng.integers(lo, hi, size=3)
    return int(c[0]), int(c[1]), int(c[2])


def muted_color(rng: np.random.Generator) -> Color:
    """A desaturated colour, like most real paint and stone under daylight."""
    gray = float(rng.uniform(20, 230))
    tint = rng.normal(0.0, 18.0, size=3)
    c = np.clip(gray + tint, 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def noise_texture(h: int, w: int, rng: np.random.Generator, octaves: int = 4, base: int = 4) -> np.ndarray:
    """Smooth multi-octave value noise in [-1, 1], float32 (h, w)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = base * (2**o)
        small = rng.standard_normal((max(2, cells * h // max(h, w) + 1), cells + 1)).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    return np.clip(out / (np.abs(out).max() + 1e-6), -1.0, 1.0)


def vertical_gradient(h: int, w: int, top: Color, bottom: Color) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    grad = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    return np.broadcast_to(grad, (h, w, 3)).copy()


def textured_fill(h: int, w: int, color: Color, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A flat colour with low-frequency texture, float32 (h, w, 3)."""
    tex = noise_texture(h, w, rng, octaves=3, base=int(rng.integers(2, 8)))
    img = np.empty((h, w, 3), np.float32)
    img[:] = color
    img += (tex * strength)[:, :, None]
    return img


def sky_and_ground(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A street backdrop: sky or wall above a horizon, asphalt or pavement below. float32 BGR."""
    horizon = int(h * rng.uniform(-0.1, 0.7))
    img = np.empty((h, w, 3), np.float32)
    if horizon > 0:
        if rng.random() < 0.5:
            sky_top = (int(rng.uniform(150, 255)), int(rng.uniform(110, 220)), int(rng.uniform(60, 200)))
            sky_bottom = tuple(int(min(255, c + rng.uniform(0, 60))) for c in sky_top)
            img[:horizon] = vertical_gradient(horizon, w, sky_top, sky_bottom)  # type: ignore[arg-type]
        else:
            img[:horizon] = textured_fill(horizon, w, muted_color(rng), rng, rng.uniform(5, 40))
    ground_h = h - max(horizon, 0)
    if ground_h > 0:
        gray = rng.uniform(40, 170)
        asphalt = textured_fill(ground_h, w, (int(gray), int(gray + rng.uniform(-6, 6)), int(gray)), rng, 25)
        asphalt += rng.normal(0, rng.uniform(2, 12), size=(ground_h, w, 1)).astype(np.float32)
        img[max(horizon, 0) :] = asphalt
    return img


def draw_buildings(img: np.ndarray, rng: np.random.Generator, bottom: int) -> None:
    """Facades with window grids standing on the line y = bottom."""
    h, w = img.shape[:2]
    x = int(rng.uniform(-0.2, 0.1) * w)
    while x < w:
        bw = int(rng.uniform(0.2, 0.8) * w)
        top = int(rng.uniform(-0.3, 0.6) * bottom)
        color = muted_color(rng)
        x0, x1, y0, y1 = max(x, 0), min(x + bw, w), max(top, 0), min(bottom, h)
        if x1 > x0 and y1 > y0:
            img[y0:y1, x0:x1] = textured_fill(y1 - y0, x1 - x0, color, rng, rng.uniform(4, 25))
            win_w = max(3, int(bw * rng.uniform(0.04, 0.12)))
            win_h = max(3, int(win_w * rng.uniform(0.8, 1.8)))
            gap_x = int(win_w * rng.uniform(0.5, 1.5)) + 2
            gap_y = int(win_h * rng.uniform(0.4, 1.0)) + 2
            win_color = muted_color(rng)
            for wy in range(y0 + gap_y, y1 - win_h, win_h + gap_y):
                for wx in range(x0 + gap_x, x1 - win_w, win_w + gap_x):
                    shade = float(rng.uniform(-30, 30))
                    cv2.rectangle(
                        img, (wx, wy), (wx + win_w, wy + win_h),
                        tuple(float(np.clip(c + shade, 0, 255)) for c in win_color), -1,
                    )
        x += bw + int(rng.uniform(0, 0.1) * w)


def draw_foliage(img: np.ndarray, rng: np.random.Generator) -> None:
    """Tree crowns and bushes: thresholded noise blobs in greens, yellows or browns."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(1, 4))):
        bh, bw = int(rng.uniform(0.15, 0.7) * h), int(rng.uniform(0.15, 0.7) * w)
        y0, x0 = int(rng.uniform(-0.2, 0.8) * h), int(rng.uniform(-0.2, 0.9) * w)
        tex = noise_texture(bh, bw, rng, octaves=4, base=int(rng.integers(3, 10)))
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        radial = ((yy / bh - 0.5) ** 2 + (xx / bw - 0.5) ** 2) * 4
        mask = (tex * 0.6 - radial + 0.5) > 0
        palette = [(40, 120, 60), (30, 90, 40), (40, 160, 170), (30, 90, 140), (60, 70, 80)]
        base = np.array(palette[int(rng.integers(len(palette)))], np.float32) + rng.normal(0, 15, 3)
        leaf = base + (tex[:, :, None] * rng.uniform(20, 70)) + rng.normal(0, 15, (bh, bw, 1))
        ys, xs = slice(max(y0, 0), min(y0 + bh, h)), slice(max(x0, 0), min(x0 + bw, w))
        sub_mask = mask[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        if sub_mask.size:
            region = img[ys, xs]
            region[sub_mask] = leaf[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0][sub_mask]


def draw_lane_markings(img: np.ndarray, rng: np.random.Generator, top: int) -> None:
    """White or yellow stripes on the road below y = top: lane lines, crossings, stop lines."""
    h, w = img.shape[:2]
    if top >= h - 4:
        return
    color = (235, 235, 235) if rng.random() < 0.8 else (40, 200, 230)
    kind = rng.integers(3)
    if kind == 0:  # zebra crossing
        stripe_w = int(rng.uniform(0.03, 0.1) * w) + 2
        y0 = int(rng.uniform(top, h - 4))
        y1 = min(h, y0 + int(rng.uniform(0.05, 0.3) * h) + 3)
        for x in range(int(rng.uniform(0, stripe_w)), w, 2 * stripe_w):
            cv2.rectangle(img, (x, y0), (x + stripe_w, y1), color, -1)
    else:  # converging lane lines
        for _ in range(int(rng.integers(1, 4))):
            x_far, x_near = rng.uniform(0, w), rng.uniform(-0.5 * w, 1.5 * w)
            thick = int(rng.uniform(1, 0.03 * w + 2))
            pts = np.array([[x_far, top], [x_near, h]], np.int32)
            cv2.line(img, tuple(pts[0]), tuple(pts[1]), color, thick)


def random_sign_text(rng: np.random.Generator, n_min: int = 2, n_max: int = 12) -> str:
    n = int(rng.integers(n_min, n_max + 1))
    return "".join(_SIGN_CHARS[int(i)] for i in rng.integers(0, len(_SIGN_CHARS), size=n)).strip() or "A"


def draw_text_sign(img: np.ndarray, rng: np.random.Generator, x: int, y: int, w: int,
                   panel: bool = True) -> None:
    """A hard negative: non-GOST text on a panel (shop sign, street name, dealer banner) or
    straight on the surface (model badge lettering)."""
    lines = int(rng.integers(1, 4)) if panel else 1
    aspect = rng.uniform(1.2, 8.0) / lines if panel else rng.uniform(5.0, 12.0)
    h = max(4, int(w / aspect))
    light = rng.random() < 0.6
    bg = (int(rng.uniform(190, 255)),) * 3 if light else random_color(rng)
    bg = tuple(int(np.clip(c + rng.normal(0, 10), 0, 255)) for c in bg)
    fg = (int(rng.uniform(0, 70)),) * 3 if light else (int(rng.uniform(200, 255)),) * 3
    if panel:
        cv2.rectangle(img, (x, y), (x + w, y + h), bg, -1)
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + w, y + h), fg, max(1, w // 80))
    font = _HERSHEY_FONTS[int(rng.integers(len(_HERSHEY_FONTS)))]
    ih, iw = img.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w + 1, iw), min(y + h + 1, ih)
    if x1 <= x0 or y1 <= y0:
        return
    # cv2.putText draws on uint8 only; scenes are composed in float32
    roi = np.clip(img[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    line_h = h / lines
    for i in range(lines):
        text = random_sign_text(rng)
        (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
        scale = min(0.9 * w / max(tw, 1), 0.7 * line_h / max(th, 1))
        if scale <= 0.05:
            continue
        thick = max(1, int(scale * rng.uniform(1.0, 3.0)))
        org = (x - x0 + int(0.05 * w), int(y - y0 + (i + 0.8) * line_h))
        cv2.putText(roi, text, org, font, scale, fg, thick, cv2.LINE_AA)
    img[y0:y1, x0:x1] = roi


_OVERLAY_COLORS: tuple[Color, ...] = (
    (255, 255, 255), (0, 160, 255), (0, 230, 255), (40, 40, 230), (20, 20, 20),
)


def draw_overlay_text(img: np.ndarray, rng: np.random.Generator) -> None:
    """Camera OSD and photo overlays: timestamps, camera names, watermarks, drawn straight on the
    picture (no panel), mostly along the top or bottom edge, as real camera frames carry them."""
    h, w = img.shape[:2]
    kind = rng.random()
    if kind < 0.5:
        d, m, y = rng.integers(1, 29), rng.integers(1, 13), rng.integers(5, 27)
        text = f"{d:02d}-{m:02d}-20{y:02d} {rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}"
        if rng.random() < 0.5:
            text += f":{rng.integers(0, 60):02d}"
    elif kind < 0.8:
        name = random_sign_text(rng, 4, 10).replace(" ", "").lower()
        text = name + rng.choice(["@mail.ru", ".com", ".ru", ""])
    else:
        text = "CAM " + str(rng.integers(1, 99)) + " " + random_sign_text(rng, 3, 8)
    font = _HERSHEY_FONTS[int(rng.integers(len(_HERSHEY_FONTS)))]
    cap_h = rng.uniform(4, 14)
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 1)
    scale = cap_h / max(th, 1)
    tw = int(tw * scale)
    x = int(rng.uniform(0, max(1, w - tw)))
    rows = [rng.uniform(cap_h + 2, 0.15 * h + cap_h), rng.uniform(0.85 * h, h - 2), rng.uniform(cap_h, h)]
    y = int(rng.choice(rows, p=[0.4, 0.45, 0.15]))
    color = _OVERLAY_COLORS[int(rng.integers(len(_OVERLAY_COLORS)))]
    thick = max(1, round(scale * rng.uniform(1.0, 2.5)))
    x0, y0 = max(0, x - 2), max(0, int(y - cap_h - 3))
    x1, y1 = min(w, x + tw + 3), min(h, y + 4)
    if x1 <= x0 or y1 <= y0:
        return
    roi = np.clip(img[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    org = (x - x0, y - y0)
    if rng.random() < 0.3:  # black outline so the text reads on any background
        cv2.putText(roi, text, org, font, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(roi, text, org, font, scale, color, thick, cv2.LINE_AA)
    img[y0:y1, x0:x1] = roi


def draw_blank_panel(img: np.ndarray, rng: np.random.Generator, x: int, y: int, w: int) -> None:
    """A hard negative: a plate-shaped light rectangle with no characters (sticker, reflector, label)."""
    h = max(2, int(w / rng.uniform(2.0, 6.0)))
    shade = int(rng.uniform(170, 255))
    cv2.rectangle(img, (x, y), (x + w, y + h), (shade, shade, int(shade * rng.uniform(0.85, 1.0))), -1)
    if rng.random() < 0.5:
        cv2.rectangle(img, (x, y), (x + w, y + h), (20, 20, 20), max(1, w // 60))
    if rng.random() < 0.3:  # a few marks, not characters
        for _ in range(int(rng.integers(1, 3))):
            cx = int(x + rng.uniform(0.1, 0.9) * w)
            cv2.circle(img, (cx, y + h // 2), max(1, h // 6), (40, 40, 40), -1)


def draw_stripes(img: np.ndarray, rng: np.random.Generator, x: int, y: int, w: int, h: int) -> None:
    """A hard negative: a grille, fence or radiator-like pattern of parallel bars."""
    dark, light = int(rng.uniform(0, 90)), int(rng.uniform(120, 255))
    cv2.rectangle(img, (x, y), (x + w, y + h), (dark,) * 3, -1)
    vertical = rng.random() < 0.4
    period = max(2, int(rng.uniform(0.04, 0.25) * (w if vertical else h)))
    bar = max(1, int(period * rng.uniform(0.2, 0.6)))
    if vertical:
        for bx in range(x, x + w, period):
            cv2.rectangle(img, (bx, y), (bx + bar, y + h), (light,) * 3, -1)
    else:
        for by in range(y, y + h, period):
            cv2.rectangle(img, (x, by), (x + w, by + bar), (light,) * 3, -1)


def draw_poles_and_people(img: np.ndarray, rng: np.random.Generator) -> None:
    """Vertical clutter: lamp posts, trunks and figure-like blobs."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(0, 4))):
        x = int(rng.uniform(0, w))
        width = max(1, int(rng.uniform(0.005, 0.05) * w))
        y0 = int(rng.uniform(-0.2, 0.6) * h)
        y1 = int(rng.uniform(0.6, 1.1) * h)
        cv2.rectangle(img, (x, y0), (x + width, y1), muted_color(rng), -1)
        if rng.random() < 0.3:  # a figure: head and body
            bw = width * 3 + 2
            cv2.ellipse(img, (x, y0), (bw // 2, bw), 0, 0, 360, muted_color(rng), -1)


def draw_hard_negatives(img: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Scatter text signs, blank panels and stripe patterns at plate-like sizes."""
    h, w = img.shape[:2]
    for _ in range(count):
        pw = int(np.exp(rng.uniform(np.log(8), np.log(0.6 * w))))
        x, y = int(rng.uniform(-0.1, 1.0) * w), int(rng.uniform(-0.05, 1.0) * h)
        kind = rng.random()
        if kind < 0.45:
            draw_text_sign(img, rng, x, y, pw)
        elif kind < 0.75:
            draw_blank_panel(img, rng, x, y, pw)
        else:
            draw_stripes(img, rng, x, y, pw, max(3, int(pw * rng.uniform(0.15, 1.0))))


def street_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A full backdrop (uint8 BGR) of sky or facades, foliage, road and clutter."""
    img = sky_and_ground(h, w, rng)
    horizon = int(h * rng.uniform(0.2, 0.8))
    if rng.random() < 0.6:
        draw_buildings(img, rng, horizon)
    if rng.random() < 0.5:
        draw_foliage(img, rng)
    if rng.random() < 0.6:
        draw_lane_markings(img, rng, horizon)
    draw_poles_and_people(img, rng)
    return np.clip(img, 0, 255).astype(np.uint8)
