"""Contact sheets of synthetic reader crops per country, to look at what the reader trains on.

    python -m models.synth.contact_sheet --countries FR,PL,RO,DE --out runs/sheets [--flat]

One PNG per country: 40 samples in a 4x10 grid, each captioned with its label. By default the
crops as the cache renders them (frame, perspective, degradations); --flat shows the plates
face-on as `plate_render` draws them, where separators and bands are easiest to check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

TILE_W, TILE_H, COLS, COUNT = 240, 60, 4, 40


def sheet(country: str, fonts, flat: bool, seed: int) -> np.ndarray:
    from models.synth.ocr_samples import OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES, random_text, render_plate

    styles = [s for s in PLATE_STYLES.values() if s.country == country]
    if not styles:
        raise SystemExit(f"no registry formats for country {country!r}")
    factory = OcrSampleFactory(fonts, styles=styles)
    images, captions = [], []
    for i in range(COUNT):
        if flat:
            rng = np.random.default_rng([seed, i])
            style = styles[int(rng.choice(len(styles), p=factory._probs))]
            text = random_text(style, rng)
            image = render_plate(style, text, fonts, rng, px_per_mm=0.6)
        else:
            sample = factory.sample(seed, i)
            image, text = sample.crop, sample.text
        images.append(image)
        captions.append(text)
    return tile_grid(images, captions)


def tile_grid(images: list[np.ndarray], captions: list[str]) -> np.ndarray:
    """BGR crops in a grid COLS wide, each resized to one tile and captioned in red; a short
    last row is filled with black tiles."""
    if not images or len(images) != len(captions):
        raise ValueError(f"{len(images)} images for {len(captions)} captions")
    tiles = []
    for image, caption in zip(images, captions, strict=True):
        tile = cv2.resize(image, (TILE_W, TILE_H), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, caption, (2, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 255), 1)
        tiles.append(cv2.copyMakeBorder(tile, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(0, 0, 0)))
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % COLS)
    return np.vstack([np.hstack(tiles[r : r + COLS]) for r in range(0, len(tiles), COLS)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--countries", default="FR,PL,RO,DE,SK,AT,IT,NL", help="comma-separated ISO codes")
    parser.add_argument("--out", type=Path, default=Path("runs/sheets"))
    parser.add_argument("--flat", action="store_true", help="face-on plates instead of reader crops")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--font-dir", default=None, help="folder with RoadNumbers2.0.ttf (default ../shared/fonts)"
    )
    args = parser.parse_args(argv)
    from models.synth.fonts import FontSet

    fonts = FontSet.discover(args.font_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    for country in (c.strip().upper() for c in args.countries.split(",")):
        path = args.out / f"{country}_{'flat' if args.flat else 'crops'}.png"
        cv2.imwrite(str(path), sheet(country, fonts, args.flat, args.seed))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
