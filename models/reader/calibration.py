"""Write synthetic reader crops as PNG files for INT8 calibration (`models.quantize`).

python -m models.reader.calibration --out runs/reader/calib --count 300
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from models.synth.fonts import FontSet
from models.synth.ocr_samples import OcrSampleFactory

CALIBRATION_SEED = 7  # not a training or test seed


def write_calibration_crops(
    out: Path, count: int, font_dir: str | None = None, one_row_only: bool = True
) -> int:
    """Render `count` crops into `out`; two-row plates are skipped (the calibration reads one-row views)."""
    out.mkdir(parents=True, exist_ok=True)
    factory = OcrSampleFactory(FontSet.discover(font_dir))
    written, index = 0, 0
    while written < count:
        sample = factory.sample(CALIBRATION_SEED, index)
        index += 1
        if one_row_only and sample.two_row:
            continue
        cv2.imwrite(str(out / f"synth_{written:05d}_{sample.text}.png"), sample.crop)
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/reader/calib"))
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--font-dir", default=None)
    args = parser.parse_args(argv)
    n = write_calibration_crops(args.out, args.count, args.font_dir)
    print(f"wrote {n} calibration crops to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
