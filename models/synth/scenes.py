"""Full synthetic scenes for the plate detector: plates on cars in streets, with box and corner labels.

A scene is what the detector sees after the frame is letterboxed to its input: plates 8-180 px
wide, most of them on a car front or rear that shares the plate's perspective, among street
clutter and hard negatives (text signs, blank panels, grilles, lane stripes). Labels are the
4 plate corners (top-left, top-right, bottom-right, bottom-left) and the tight axis-aligned
box around them. Scenes are a pure function of the seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from models.synth.scene_backgrounds import draw_hard_negatives, draw_overlay_text, street_background
from models.synth.scene_cars import draw_car

# Pixel value the detector's letterbox pads with; scenes sometimes show such bands too.
LETTERBOX_FILL = 114


@dataclass(frozen=True)
class PlateImage:
    """A front-view plate: BGR uint8 image (may include holder frame) and the plate's 4 corners in it."""

    image: np.ndarray
    corners: np.ndarray  # float32 (4, 2): TL, TR, BR, BL


PlateSource = Callable[[np.random.Generator], PlateImage]


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # uint8 (H, W, 3) BGR
    boxes: np.ndarray  # float32 (N, 4): x1, y1, x2, y2
    corners: np.ndarray  # float32 (N, 4, 2)


@dataclass(frozen=True)
class SceneConfig:
    height: int = 256
    width: int = 256
    # Under ~14 px (about 65 px in a 1080p frame) a plate is too small to read; training on such
    # specks pushes the detector towards small text-like blobs (badges, lamps), the bulk of its
    # false positives on the real photos.
    min_plate_width: float = 14.0
    max_plate_width: float = 180.0
    max_yaw_deg: float = 55.0  # squashes a plate to ~0.57 of its width
    roll_sigma_deg: float = 5.0
    max_roll_deg: float = 20.0
    # Plates mounted crooked on a level car (bent bracket, one screw lost): the plate rolls on its
    # own, up to `max_crooked_deg` either way, on this share of cars. 0 keeps the scene stream of
    # the earlier training stages unchanged.
    crooked_rate: float = 0.0
    max_crooked_deg: float = 25.0
    empty_scene_rate: float = 0.08
    close_up_rate: float = 0.5
    jpeg_rate: float = 0.6


def perspective_quad(
    w: float, h: float, yaw: float, pitch: float, roll: float, focal: float
) -> np.ndarray:
    """Corners (TL, TR, BR, BL) of a w x h rectangle rotated in 3D and projected, centred on 0."""
    cy, sy, cp, sp, cr, sr = (math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch),
                              math.cos(roll), math.sin(roll))
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rot_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    pts = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
    pts = pts @ (rot_z @ rot_y @ rot_x).T
    pts[:, 2] += focal
    return (pts[:, :2] * focal / pts[:, 2:3]).astype(np.float32)


def _apply_h(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float32), matrix).reshape(-1, 2)


def _paste_plate(
    canvas: np.ndarray, plate: PlateImage, center: tuple[float, float], width: float,
    rng: np.random.Generator, tilt_deg: float = 0.0,
) -> np.ndarray:
    """Paste a plate so its corner width is `width`, face-on or turned by `tilt_deg` in the plane;
    returns its corners on `canvas`."""
    corner_w = float(np.linalg.norm(plate.corners[1] - plate.corners[0]))
    scale = width / max(corner_w, 1.0)
    ph, pw = plate.image.shape[:2]
    shade = rng.uniform(0.55, 1.15)  # shade or glare on the plate relative to the car
    if tilt_deg:
        return _paste_tilted(canvas, plate, center, scale, shade, tilt_deg)
    new_w, new_h = max(2, round(pw * scale)), max(2, round(ph * scale))
    small = cv2.resize(plate.image, (new_w, new_h), interpolation=cv2.INTER_AREA).astype(np.float32)
    small *= shade
    corners = plate.corners * np.array([new_w / pw, new_h / ph], np.float32)
    mid = corners.mean(axis=0)
    x0, y0 = round(center[0] - mid[0]), round(center[1] - mid[1])
    h, w = canvas.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + new_w, w), min(y0 + new_h, h)
    if cx1 > cx0 and cy1 > cy0:
        canvas[cy0:cy1, cx0:cx1] = small[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    return corners + np.array([x0, y0], np.float32)


def _paste_tilted(
    canvas: np.ndarray, plate: PlateImage, center: tuple[float, float], scale: float, shade: float,
    tilt_deg: float,
) -> np.ndarray:
    """The plate image scaled, turned about its plate centre and laid over `canvas` through its
    own warped outline (no square of background around a turned plate)."""
    mid = plate.corners.mean(axis=0)
    matrix = cv2.getRotationMatrix2D((float(mid[0]), float(mid[1])), tilt_deg, scale)
    matrix[:, 2] += np.array(center, np.float64) - mid
    h, w = canvas.shape[:2]
    src = (plate.image.astype(np.float32) * shade).clip(0, 255)
    warped = cv2.warpAffine(src, matrix, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    ones = np.ones(plate.image.shape[:2], np.float32)
    alpha = cv2.warpAffine(ones, matrix, (w, h), flags=cv2.INTER_LINEAR)[:, :, None]
    canvas *= 1.0 - alpha
    canvas += warped * alpha
    return cv2.transform(plate.corners.reshape(-1, 1, 2).astype(np.float32), matrix).reshape(4, 2)


def _random_pose(rng: np.random.Generator, cfg: SceneConfig, size: float) -> tuple[float, ...]:
    yaw = math.radians(rng.uniform(-cfg.max_yaw_deg, cfg.max_yaw_deg) * (rng.random() ** 0.7))
    pitch = math.radians(rng.uniform(-25, 25))
    roll_deg = np.clip(rng.normal(0, cfg.roll_sigma_deg), -cfg.max_roll_deg, cfg.max_roll_deg)
    roll = math.radians(float(roll_deg))
    focal = size * rng.uniform(1.2, 6.0)
    return yaw, pitch, roll, focal


def _composite(
    scene: np.ndarray, patch: np.ndarray, mask: np.ndarray, matrix: np.ndarray,
    keep_visible: list[np.ndarray],
) -> bool:
    """Warp `patch` over the scene unless it would hide much of a plate in `keep_visible`."""
    h, w = scene.shape[:2]
    alpha = cv2.warpPerspective(mask, matrix, (w, h), flags=cv2.INTER_LINEAR)
    if any(_visible_fraction(c, alpha) < 0.9 for c in keep_visible):
        return False
    warped = cv2.warpPerspective(patch, matrix, (w, h), flags=cv2.INTER_LINEAR)
    scene *= 1.0 - alpha[:, :, None]
    scene += warped * alpha[:, :, None]
    return True


def _place_object(
    scene: np.ndarray, patch: np.ndarray, mask: np.ndarray, plate_corners: np.ndarray | None,
    rng: np.random.Generator, cfg: SceneConfig, keep_visible: list[np.ndarray],
) -> np.ndarray | None:
    """Warp a face-on patch into the scene with a random pose; the plate's corners there, if any.

    Nothing is drawn (None) when the plate cannot fit or the object would hide a plate already
    placed: a labelled plate is always at least 90% visible.
    """
    ph, pw = patch.shape[:2]
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    quad = perspective_quad(pw, ph, *_random_pose(rng, cfg, max(pw, ph)))
    matrix = cv2.getPerspectiveTransform(src, quad)
    h, w = scene.shape[:2]
    if plate_corners is None:
        offset = np.array([rng.uniform(0, w), rng.uniform(0.2 * h, 1.1 * h)], np.float32)
        corners = None
    else:
        local = _apply_h(matrix, plate_corners)
        lo, hi = local.min(axis=0), local.max(axis=0)
        span = hi - lo
        if span[0] > w - 4 or span[1] > h - 4:
            return None
        # the plate lands fully inside the frame; the car around it may be cut off
        offset = np.array([rng.uniform(2 - lo[0], w - 2 - hi[0]), rng.uniform(2 - lo[1], h - 2 - hi[1])],
                          np.float32)
        corners = local + offset
    shift = np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]], np.float64)
    drawn = _composite(scene, patch, mask, shift @ matrix, keep_visible)
    return corners if drawn else None


def _overlay_away_from_plates(scene: np.ndarray, rng: np.random.Generator, plates: list[np.ndarray]) -> None:
    before = scene.copy()
    draw_overlay_text(scene, rng)
    for quad in plates:  # text over a plate would change what the label points at: undo it there
        x0, y0 = np.floor(quad.min(axis=0)).astype(int) - 1
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 2
        scene[max(y0, 0) : y1, max(x0, 0) : x1] = before[max(y0, 0) : y1, max(x0, 0) : x1]


def _visible_fraction(corners: np.ndarray, coverage: np.ndarray) -> float:
    """How much of a plate quad is still visible after something with `coverage` was drawn over it."""
    inside = np.zeros(coverage.shape, np.uint8)
    cv2.fillConvexPoly(inside, np.round(corners).astype(np.int32), 1)
    area = int(inside.sum())
    if area == 0:
        return 0.0
    return 1.0 - float(coverage[inside.astype(bool)].sum()) / area


def _plate_width(rng: np.random.Generator, cfg: SceneConfig, close_up: bool) -> float:
    lo, hi = math.log(cfg.min_plate_width), math.log(cfg.max_plate_width)
    if close_up:
        lo = math.log(max(cfg.min_plate_width, 24.0))
    else:
        hi = math.log(min(cfg.max_plate_width, 90.0))
    return math.exp(rng.uniform(lo, hi))


def _degrade(img: np.ndarray, rng: np.random.Generator, cfg: SceneConfig) -> np.ndarray:
    """Camera and lighting: gain, colour cast, gradient light, blur, noise, JPEG."""
    h, w = img.shape[:2]
    img *= rng.uniform(0.6, 1.3)
    img += rng.normal(0, 8, 3).astype(np.float32)
    if rng.random() < 0.5:
        ramp = np.linspace(rng.uniform(-50, 20), rng.uniform(-20, 50), w if rng.random() < 0.5 else h)
        img += (ramp[None, :, None] if len(ramp) == w else ramp[:, None, None]).astype(np.float32)
    img = np.clip(img, 0, 255)
    if rng.random() < 0.4:
        gamma = rng.uniform(0.6, 1.6)
        img = 255.0 * (img / 255.0) ** gamma
    out = img.astype(np.uint8)
    r = rng.random()
    if r < 0.35:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.3))
    elif r < 0.5:
        k = int(rng.integers(2, 6))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        out = cv2.filter2D(out, -1, kernel / max(kernel.sum(), 1e-6))
    if rng.random() < 0.5:
        noise = rng.normal(0, rng.uniform(2, 10), out.shape)
        out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < cfg.jpeg_rate:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def _letterbox_bands(img: np.ndarray, boxes: np.ndarray, rng: np.random.Generator) -> None:
    """Flat bands like the detector's own padding, where they cover no plate."""
    h, w = img.shape[:2]
    if rng.random() < 0.5:
        band = int(rng.uniform(0.05, 0.35) * h)
        top = rng.random() < 0.5
        y0, y1 = (0, band) if top else (h - band, h)
        if len(boxes) == 0 or (np.all(boxes[:, 1] > y1) if top else np.all(boxes[:, 3] < y0)):
            img[y0:y1] = LETTERBOX_FILL
    else:
        band = int(rng.uniform(0.05, 0.35) * w)
        left = rng.random() < 0.5
        x0, x1 = (0, band) if left else (w - band, w)
        if len(boxes) == 0 or (np.all(boxes[:, 0] > x1) if left else np.all(boxes[:, 2] < x0)):
            img[:, x0:x1] = LETTERBOX_FILL


def render_scene(
    rng: np.random.Generator, plate_source: PlateSource, cfg: SceneConfig | None = None
) -> Scene:
    """One scene drawn from `rng`; `plate_source` supplies the front-view plates."""
    cfg = cfg or SceneConfig()
    h, w = cfg.height, cfg.width
    scene = street_background(h, w, rng).astype(np.float32)
    draw_hard_negatives(scene, rng, int(rng.integers(0, 5)))
    corners_list: list[np.ndarray] = []
    empty = rng.random() < cfg.empty_scene_rate
    close_up = rng.random() < cfg.close_up_rate
    n_cars = 1 if close_up else int(rng.integers(1, 5))
    widths = sorted(_plate_width(rng, cfg, close_up) for _ in range(n_cars))
    for plate_w in widths:  # far (small) cars first so near ones occlude them
        with_plate = not empty and rng.random() < 0.93
        car_w = int(plate_w / rng.uniform(0.24, 0.32))
        on_car = rng.random() < 0.92
        if on_car:
            car = draw_car(rng, car_w)
            patch, mask = car.image, car.mask
            center, width = car.plate_center, car.plate_width
        else:  # a plate on a wall, a trailer or in hand: no car around it
            side = max(8, int(plate_w * rng.uniform(1.2, 2.0)))
            patch = np.full((side, side, 3), rng.uniform(30, 220), np.float32)
            mask = np.zeros((side, side), np.float32)
            mask[side // 2 - max(2, side // 8) : side // 2 + max(2, side // 8), :] = 1.0
            center, width = (side / 2, side / 2), float(plate_w)
        plate_corners = None
        if with_plate:
            tilt = 0.0
            if cfg.crooked_rate and on_car and rng.random() < cfg.crooked_rate:
                tilt = float(rng.uniform(-cfg.max_crooked_deg, cfg.max_crooked_deg))
            plate_corners = _paste_plate(patch, plate_source(rng), center, width, rng, tilt)
            if not on_car:
                x0, y0 = plate_corners.min(axis=0).astype(int)
                x1, y1 = plate_corners.max(axis=0).astype(int)
                mask[max(y0 - 1, 0) : y1 + 2, max(x0 - 1, 0) : x1 + 2] = 1.0
        placed = _place_object(scene, patch, mask, plate_corners, rng, cfg, corners_list)
        if placed is not None:
            corners_list.append(placed)
    if rng.random() < 0.3:  # camera timestamp or photo watermark, where no plate is
        _overlay_away_from_plates(scene, rng, corners_list)
    corners = np.array(corners_list, np.float32).reshape(-1, 4, 2)
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1).astype(np.float32)
    image = _degrade(scene, rng, cfg)
    if rng.random() < 0.1:
        _letterbox_bands(image, boxes, rng)
    return Scene(image=image, boxes=boxes, corners=corners)

