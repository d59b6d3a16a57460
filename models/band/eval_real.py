"""The band reader on real photos: does it name the right band code on labelled plates?

    python -m models.band.eval_real [--realdata ../shared/realdata/eu-dev] [--model FILE] [--sheet OUT.png]

Each readable labelled plate is cut as the edge cuts it from a detector box (the label's box,
`box` and `box_wide` views) and read by the band reader. The label's country is used only to
score: its registry band code is the right answer where the plate shows a band (eu-dev's photos
are FR, PL, RO, DE; a plate without a band, e.g. an old French one, can only be "no band").
Prints per country: right code, "no band", wrong code, and right/wrong at the confidence the
reader acts on. Measuring only: never train on these photos.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np

from common.plates.registry import load_registry
from edge.inference.band_input import NO_BAND, band_patch
from edge.inference.band_reader import OnnxBandReader
from edge.inference.crops import view_crop
from edge.inference.protocols import PlateDetection
from models.paths import BAND_FP32
from models.realdata import load_real_photos, realdata_dir

SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--realdata", default=None)
    parser.add_argument("--model", type=Path, default=BAND_FP32)
    parser.add_argument("--min-confidence", type=float, default=0.3)
    parser.add_argument("--sheet", type=Path, default=None, help="write a contact sheet of the patches")
    args = parser.parse_args(argv)
    registry = load_registry()
    reader = OnnxBandReader(args.model, runtime="onnxruntime", threads=1, min_confidence=args.min_confidence)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    wrong: Counter[str] = Counter()
    sweep: dict[float, Counter[str]] = {t: Counter() for t in SWEEP}
    tiles: list[np.ndarray] = []
    for photo in load_real_photos(realdata_dir(args.realdata)):
        image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
        for plate in photo.plates:
            if not plate.readable or not plate.country:
                continue
            truth = registry.country(plate.country).band_code
            detection = PlateDetection(tuple(float(v) for v in plate.box), 1.0)  # type: ignore[arg-type]
            crops = [
                c for c in (view_crop(image, detection, v) for v in ("box", "box_wide")) if c is not None
            ]
            for view, crop, reading in zip(("box", "box_wide"), crops, reader.read(crops), strict=True):
                c = counts[f"{plate.country} {view}"]
                c["plates"] += 1
                c[
                    "right" if reading.code == truth else "no band" if reading.code == NO_BAND else "wrong"
                ] += 1
                if reading.confidence >= args.min_confidence and reading.code != NO_BAND:
                    c["acted right" if reading.code == truth else "acted wrong"] += 1
                for t in SWEEP:
                    if reading.confidence >= t and reading.code != NO_BAND:
                        sweep[t]["right" if reading.code == truth else "wrong"] += 1
                if reading.code not in (truth, NO_BAND):
                    wrong[f"{truth}->{reading.code}"] += 1
                if args.sheet is not None and view == "box" and len(tiles) < 320:
                    tile = cv2.resize(band_patch(crop), (48, 64), interpolation=cv2.INTER_NEAREST)
                    cv2.putText(
                        tile, reading.code or "-", (2, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1
                    )
                    tiles.append(tile)
    print(
        f"{'country view':14} {'plates':>6} {'right':>6} {'no band':>8} {'wrong':>6}   "
        f"acted on (conf >= {args.min_confidence}): right / wrong"
    )
    for key in sorted(counts):
        c = counts[key]
        n = c["plates"]
        print(
            f"{key:14} {n:>6} {c['right'] / n:>6.1%} {c['no band'] / n:>8.1%} {c['wrong'] / n:>6.1%}   "
            f"{c['acted right'] / n:.1%} / {c['acted wrong'] / n:.1%}"
        )
    total = sum(c["plates"] for c in counts.values())
    print(
        "codes acted on, all views, by threshold (right / wrong of",
        total,
        "crops): " + ", ".join(f"{t}: {sweep[t]['right']} / {sweep[t]['wrong']}" for t in SWEEP),
    )
    print("wrong codes:", ", ".join(f"{k} {v}" for k, v in wrong.most_common(12)) or "none")
    if args.sheet is not None and tiles:
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 20)
        sheet = np.vstack([np.hstack(tiles[i : i + 20]) for i in range(0, len(tiles), 20)])
        cv2.imwrite(str(args.sheet), sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
