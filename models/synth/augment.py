"""Camera-like degradations and geometry for synthetic plate images.

A function library: every function takes a BGR uint8 image (and an explicit numpy Generator
where it draws randomness) and returns a new image, so both the reader's crops and the
detector's scenes can chain what they need. `degrade` is the reader's default chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# --- geometry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeometryParams:
    """Viewing geometry spread; defaults match what measurably helped on real RU crops."""

    rotation_sigma_deg: float = 6.0
    rotation_max_deg: float = 22.0
    squash_range: tuple[float, float] = (0.55, 1.0)  # horizontal foreshortening (yaw)
    shear_max: float = 0.18
    yaw_taper_max: float = 0.14  # one vertical side shorter than the other
    pitch_taper_max: float = 0.08  # top edge shorter/longer than bottom
    # A camera above and beside the lane sees the plate's long edges sloped while its short
    # edges stay vertical (a vertical shear, not a rotation); common on real RU crops.
    slope_p: float = 0.45
    slope_max: float = 0.4


DEFAULT_GEOMETRY = GeometryParams()


def random_plate_quad(
    width: float, height: float, rng: np.random.Generator, params: GeometryParams | None = None
) -> np.ndarray:
    """Where the corners (TL, TR, BR, BL) of a width x height plate land, centred on the origin."""
    params = params or DEFAULT_GEOMETRY
    squash = rng.uniform(*params.squash_range)
    w, h = width * squash, height
    quad = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float64)
    yaw = rng.uniform(-params.yaw_taper_max, params.yaw_taper_max)
    quad[[0, 3], 1] *= 1 + yaw
    quad[[1, 2], 1] *= 1 - yaw
    pitch = rng.uniform(-params.pitch_taper_max, params.pitch_taper_max)
    quad[[0, 1], 0] *= 1 + pitch
    quad[[2, 3], 0] *= 1 - pitch
    shear = rng.uniform(-params.shear_max, params.shear_max)
    quad[:, 0] += shear * quad[:, 1]
    if rng.random() < params.slope_p:
        quad[:, 1] += rng.uniform(-params.slope_max, params.slope_max) * quad[:, 0]
    angle = np.deg2rad(
        np.clip(rng.normal(0, params.rotation_sigma_deg), -params.rotation_max_deg, params.rotation_max_deg)
    )
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return quad @ rot.T


def warp_onto(
    background: np.ndarray, image: np.ndarray, src_quad: np.ndarray, dst_quad: np.ndarray
) -> np.ndarray:
    """Paste `image` so that its `src_quad` lands on `dst_quad` of `background` (both BGR)."""
    matrix = cv2.getPerspectiveTransform(src_quad.astype(np.float32), dst_quad.astype(np.float32))
    h, w = background.shape[:2]
    out = background.copy()
    cv2.warpPerspective(
        image, matrix, (w, h), dst=out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
    )
    return out


# --- backgrounds ----------------------------------------------------------------------------


def clutter_background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Car-body-like surroundings: a tinted gradient with grille bars, edges and blobs."""
    base = rng.integers(0, 256, 3).astype(np.float32)
    grey = rng.uniform(0.4, 1.0) if rng.random() < 0.8 else 0.0  # most cars are grey-ish
    base = base * (1 - grey) + base.mean() * grey
    ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.2), 8, dtype=np.float32)[:, None, None]
    small = np.clip(base[None, None, :] * ramp, 0, 255).astype(np.uint8)  # (8, 1, 3) vertical shading
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    for _ in range(int(rng.integers(2, 9))):
        tone = rng.integers(0, 256, 3)
        color = tuple(int(c) for c in (tone * 0.4 + tone.mean() * 0.6))
        kind = rng.random()
        if kind < 0.45:  # horizontal bars (grille, bumper edges)
            y = int(rng.integers(0, height))
            cv2.line(image, (0, y), (width, y + int(rng.integers(-8, 9))), color, int(rng.integers(1, 6)))
        elif kind < 0.8:
            x0, y0 = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
            cv2.rectangle(
                image,
                (x0, y0),
                (x0 + int(rng.integers(5, width)), y0 + int(rng.integers(3, height))),
                color,
                -1 if rng.random() < 0.5 else int(rng.integers(1, 4)),
            )
        else:
            cv2.circle(
                image,
                (int(rng.integers(0, width)), int(rng.integers(0, height))),
                int(rng.integers(3, max(4, height))),
                color,
                -1,
            )
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.5))


# --- photometric degradations ---------------------------------------------------------------


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0.05 else image


def motion_blur(image: np.ndarray, length: int, angle_deg: float) -> np.ndarray:
    if length < 2:
        return image
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(image, -1, kernel)


def defocus_blur(image: np.ndarray, radius: int) -> np.ndarray:
    if radius < 1:
        return image
    size = 2 * radius + 1
    kernel = np.zeros((size, size), np.float32)
    cv2.circle(kernel, (radius, radius), radius, 1.0, -1)
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0, sigma, (*image.shape[:2], 1)).astype(np.float32)
    if rng.random() < 0.3:  # colour noise from the sensor's Bayer pattern
        noise = rng.normal(0, sigma, image.shape).astype(np.float32)
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def exposure(image: np.ndarray, gain: float, gamma: float, offset: float = 0.0) -> np.ndarray:
    """Over-/under-exposure: out = 255 * (gain * in/255) ** gamma + offset."""
    lut = np.clip(255.0 * np.clip(gain * np.arange(256) / 255.0, 0, 1) ** gamma + offset, 0, 255)
    return cv2.LUT(image, lut.astype(np.uint8))


def contrast(image: np.ndarray, factor: float) -> np.ndarray:
    mean = float(image.mean())
    return np.clip((image.astype(np.float32) - mean) * factor + mean, 0, 255).astype(np.uint8)


def night_ir(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """IR-illuminated night view: grayscale, retroreflective plate bright, surroundings dark."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    gray = exposure(gray, rng.uniform(1.0, 1.6), rng.uniform(0.8, 1.6))
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def shadow(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A hard-ish shadow edge across the image (a straight line at a random angle)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    d = (xx - rng.uniform(0, w)) * np.cos(angle) + (yy - rng.uniform(0, h)) * np.sin(angle)
    softness = rng.uniform(0.5, 0.1 * max(h, w) + 1)
    mask = 1 / (1 + np.exp(-d / softness))
    factor = 1 - strength * mask
    return np.clip(image * factor[..., None], 0, 255).astype(np.uint8)


def glare(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A bright elliptical highlight (sun or headlight reflection)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    sx, sy = rng.uniform(0.05, 0.5) * w, rng.uniform(0.1, 0.8) * h
    blob = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
    return np.clip(image + 255 * strength * blob[..., None], 0, 255).astype(np.uint8)


def dirt(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Mud and dust: low-frequency darkening with a brownish tint."""
    h, w = image.shape[:2]
    small = rng.random((max(2, h // 8), max(2, w // 8))).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    field = np.clip((field - (1 - amount)) / max(amount, 1e-3), 0, 1)[..., None]
    tint = np.array([40, 60, 80], np.float32)
    return np.clip(image * (1 - 0.6 * field) + tint * 0.6 * field, 0, 255).astype(np.uint8)


def occlude(image: np.ndarray, rng: np.random.Generator, max_fraction: float) -> np.ndarray:
    """A bar (tow hook, bumper part) covering a little of one edge."""
    out = image.copy()
    h, w = out.shape[:2]
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    if rng.random() < 0.5:
        bw = int(w * rng.uniform(0.02, max_fraction))
        x = 0 if rng.random() < 0.5 else w - bw
        out[:, x : x + bw] = color
    else:
        bh = int(h * rng.uniform(0.05, max_fraction * 2))
        y = 0 if rng.random() < 0.5 else h - bh
        out[y : y + bh, :] = color
    return out


def resize_to_width(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    height = max(4, round(h * width / w))
    interp = cv2.INTER_AREA if width < w else cv2.INTER_LINEAR
    return cv2.resize(image, (max(4, width), height), interpolation=interp)


@dataclass(frozen=True)
class DegradeParams:
    blur_p: float = 0.5
    motion_p: float = 0.25
    defocus_p: float = 0.1
    noise_p: float = 0.6
    exposure_p: float = 0.7
    night_p: float = 0.12
    shadow_p: float = 0.25
    glare_p: float = 0.12
    dirt_p: float = 0.2
    occlude_p: float = 0.05
    jpeg_range: tuple[int, int] = (15, 95)


DEFAULT_DEGRADE = DegradeParams()


def degrade(image: np.ndarray, rng: np.random.Generator, params: DegradeParams | None = None) -> np.ndarray:
    """The reader's camera chain on a crop already at its source resolution.

    Blur sizes shrink with the crop: a 60 px plate is already soft, and the same kernel that
    is realistic on a 400 px plate would erase it."""
    params = params or DEFAULT_DEGRADE
    out = image
    soft = float(np.clip(image.shape[1] / 250.0, 0.35, 1.0))
    if rng.random() < params.dirt_p:
        out = dirt(out, rng, rng.uniform(0.1, 0.5))
    if rng.random() < params.shadow_p:
        out = shadow(out, rng, rng.uniform(0.2, 0.7))
    if rng.random() < params.glare_p:
        out = glare(out, rng, rng.uniform(0.2, 0.8))
    if rng.random() < params.occlude_p:
        out = occlude(out, rng, 0.08)
    if rng.random() < params.exposure_p:
        out = exposure(out, rng.uniform(0.6, 1.5), rng.uniform(0.6, 1.8), rng.uniform(-20, 30))
    if rng.random() < 0.3:
        out = contrast(out, rng.uniform(0.55, 1.2))
    if rng.random() < params.night_p:
        out = night_ir(out, rng)
    if rng.random() < params.defocus_p:
        out = defocus_blur(out, int(rng.integers(1, 3)) if soft > 0.6 else 1)
    if rng.random() < params.motion_p:
        out = motion_blur(out, int(rng.integers(2, 2 + round(4 * soft))), rng.uniform(0, 180))
    if rng.random() < params.blur_p:
        out = gaussian_blur(out, rng.uniform(0.3, 1.3) * soft)
    if rng.random() < params.noise_p:
        out = gaussian_noise(out, rng.uniform(2, 14), rng)
    return jpeg(out, int(rng.integers(params.jpeg_range[0], params.jpeg_range[1] + 1)))
