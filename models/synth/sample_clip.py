"""Generate the bundled sample clip: cars with readable plates driving up to a gate camera.

    python -m models.synth.sample_clip [--seed 7] [--out edge/samples/sample_clip.mp4]

The scene is drawn by our synthetic engine (models.synth: street background, face-on cars,
plates from the plate-format registry in the GOST font), so the clip is a pure function of its
seed. Each car approaches the camera, growing from far to near, and leaves through the bottom
edge; the truth file records each plate and the frames in which it is visible. Needs the plate
font (models.synth.fonts) and Pillow: a development tool, never run on the edge box.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from common.plates.alphabet import to_latin
from edge.samples import SAMPLE_CLIP, SAMPLE_CLIP_TRUTH
from models.synth.fonts import FontSet
from models.synth.plate_render import PLATE_STYLES, REGISTRY_FORMATS, render_plate
from models.synth.scene_backgrounds import street_background
from models.synth.scene_cars import draw_car

FPS = 25
SIZE = (1280, 720)
CAR_FAR_WIDTH = 300  # px when the car enters the view
CAR_NEAR_WIDTH = 640  # px when its plate leaves the bottom edge
PLATE_MAX_WIDTH_PX = 200
# Plate formats of the vehicles, in order: mostly Russian, as the product's main market.
VEHICLE_FORMATS = ("RU/standard", "RU/standard", "KZ/standard", "RU/standard", "RU/taxi")


@dataclass(frozen=True)
class Vehicle:
    text: str  # canonical plate text
    latin: str
    country: str
    format: str
    first_frame: int
    last_frame: int  # inclusive: the last frame in which the whole plate is inside the image

    @property
    def enter_s(self) -> float:
        return round(self.first_frame / FPS, 2)

    @property
    def exit_s(self) -> float:
        return round(self.last_frame / FPS, 2)


@dataclass
class _Sprite:
    image: np.ndarray  # float32 BGR, the car at CAR_NEAR_WIDTH with its plate
    mask: np.ndarray  # float32 0..1
    plate_box: tuple[float, float, float, float]  # in sprite pixels


def _car_with_plate(rng: np.random.Generator, fonts: FontSet, format_key: str, text: str) -> _Sprite:
    car = draw_car(rng, CAR_NEAR_WIDTH)
    style = PLATE_STYLES[format_key]
    plate_w = round(min(car.plate_width, PLATE_MAX_WIDTH_PX * 1.0))
    px_per_mm = 2.0  # render sharp, then shrink: small plates keep clean glyph edges
    plate = render_plate(style, text, fonts, rng, px_per_mm=px_per_mm)
    plate_h = round(plate_w * plate.shape[0] / plate.shape[1])
    plate = cv2.resize(plate, (plate_w, plate_h), interpolation=cv2.INTER_AREA)
    image, mask = car.image.copy(), car.mask.copy()
    cx, cy = car.plate_center
    x0, y0 = round(cx - plate_w / 2), round(cy - plate_h / 2)
    image[y0 : y0 + plate_h, x0 : x0 + plate_w] = plate.astype(np.float32)
    mask[y0 : y0 + plate_h, x0 : x0 + plate_w] = 1.0
    return _Sprite(image, mask, (x0, y0, x0 + plate_w, y0 + plate_h))


def _composite(
    frame: np.ndarray, sprite: _Sprite, scale: float, cx: float, bottom: float
) -> tuple[float, ...]:
    """Paste the sprite scaled by `scale` with its bottom centre at (cx, bottom); the plate box drawn."""
    h, w = sprite.mask.shape
    sw, sh = max(2, int(w * scale)), max(2, int(h * scale))
    image = cv2.resize(sprite.image, (sw, sh), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(sprite.mask, (sw, sh), interpolation=cv2.INTER_AREA)[..., None]
    x0, y0 = round(cx - sw / 2), round(bottom - sh)
    fh, fw = frame.shape[:2]
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(fw, x0 + sw), min(fh, y0 + sh)
    if fx1 > fx0 and fy1 > fy0:
        region = frame[fy0:fy1, fx0:fx1]
        src = image[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
        alpha = mask[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
        region[:] = region * (1 - alpha) + src * alpha
    px0, py0, px1, py1 = sprite.plate_box
    return x0 + px0 * scale, y0 + py0 * scale, x0 + px1 * scale, y0 + py1 * scale


def generate(seed: int, out: Path, truth_out: Path, seconds_per_car: float = 4.2, gap_s: float = 0.8) -> dict:
    rng = np.random.default_rng(seed)
    fonts = FontSet.discover()
    w, h = SIZE
    background = street_background(h, w, rng).astype(np.float32)
    sprites: list[_Sprite] = []
    texts: list[str] = []
    for format_key in VEHICLE_FORMATS:
        text = REGISTRY_FORMATS[format_key].random_text(rng)
        texts.append(text)
        sprites.append(_car_with_plate(rng, fonts, format_key, text))
    car_frames = int(seconds_per_car * FPS)
    gap_frames = int(gap_s * FPS)
    starts = [int(FPS * 0.8) + i * (car_frames + gap_frames) for i in range(len(sprites))]
    total = starts[-1] + car_frames + int(FPS * 1.0)
    lanes = [w * 0.5 + rng.uniform(-0.12, 0.12) * w for _ in sprites]

    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4v video to {out}")
    seen: list[list[int]] = [[] for _ in sprites]
    noise_rng = np.random.default_rng(seed + 1)
    for index in range(total):
        frame = background.copy()
        for i, sprite in enumerate(sprites):
            t = (index - starts[i]) / car_frames
            if not 0 <= t <= 1:
                continue
            ease = t * t * (3 - 2 * t) * 0.35 + t * 0.65  # slows a little near the gate
            scale = (CAR_FAR_WIDTH + (CAR_NEAR_WIDTH - CAR_FAR_WIDTH) * ease) / CAR_NEAR_WIDTH
            bottom = h * 0.55 + ease * h * 0.75  # from mid-frame to past the bottom edge
            box = _composite(frame, sprite, scale, lanes[i], bottom)
            if box[0] >= 0 and box[1] >= 0 and box[2] <= w and box[3] <= h:
                seen[i].append(index)
        frame += noise_rng.normal(0, 2.0, frame.shape).astype(np.float32)  # sensor noise
        writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    writer.release()

    vehicles = [
        Vehicle(text, to_latin(text), fmt.split("/")[0], fmt.split("/")[1], frames[0], frames[-1])
        for text, fmt, frames in zip(texts, VEHICLE_FORMATS, seen, strict=True)
    ]
    truth = {
        "seed": seed,
        "fps": FPS,
        "width": w,
        "height": h,
        "frames": total,
        "plates": [{**asdict(v), "enter_s": v.enter_s, "exit_s": v.exit_s} for v in vehicles],
    }
    truth_out.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=SAMPLE_CLIP)
    parser.add_argument("--truth", type=Path, default=SAMPLE_CLIP_TRUTH)
    args = parser.parse_args(argv)
    truth = generate(args.seed, args.out, args.truth)
    size_mb = args.out.stat().st_size / 1e6
    print(f"{args.out}: {truth['frames']} frames, {size_mb:.1f} MB; plates:")
    for plate in truth["plates"]:
        kind = f"{plate['country']}/{plate['format']}"
        print(f"  {plate['text']:>12}  {kind:<12} {plate['enter_s']}-{plate['exit_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
