"""The synthetic crops the reader misreads, country by country, to see what a retrain must fix.

    python -m models.reader.synthetic_errors --countries AT,DE [--count 400] [--seed 424242]
        [--every-country] [--all-sizes] [--runtime onnxruntime] [--reader PATH] [--sheets DIR]

Draws each country's crops as `models.evaluate` does (its formats in their registry
proportions), but from a development seed: the evaluation's own crops (`SYNTH_COUNTRY_SEED`)
stay held out, so nothing is tuned on the figures the report gives. Reads them as a site set to
that country would (`--countries XX`; `--every-country` reads them with every country on, as
the report's main columns do), and prints, per country, how many crops within the installation
spec (characters 15 px or taller; `--all-sizes` for every crop) are read right, each misread
crop (format, label, reading, character height, confidence) and the commonest character
confusions. `--sheets DIR` also writes a contact sheet of each country's misread crops.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from common.config import ReaderConfig
from common.plates.registry import load_registry
from edge.inference.models import READERS
from models.evaluate import SPEC_CHAR_PX, SYNTH_COUNTRY_SEED, synthetic_country_crops
from models.paths import READER_INT8
from models.report import confusions
from models.synth.contact_sheet import tile_grid

DEV_SEED = 424_242
MAX_SHEET_TILES = 80


@dataclass(frozen=True)
class Misread:
    """One synthetic crop the reader got wrong."""

    style_id: str  # registry format key, e.g. "AT/standard_2l"
    truth: str  # glyphs, as the reader outputs them
    read: str
    char_px: float
    confidence: float
    crop: np.ndarray


@dataclass(frozen=True)
class CountryErrors:
    country: str
    crops: int  # those looked at (within the spec unless every size is asked for)
    misreads: list[Misread]

    @property
    def right(self) -> int:
        return self.crops - len(self.misreads)

    def summary(self) -> str:
        share = self.right / self.crops if self.crops else 0.0
        return f"{self.country}: {self.right} of {self.crops} read right ({share:.1%})"


def country_errors(
    country: str,
    count: int,
    seed: int = DEV_SEED,
    reader_path: Path = READER_INT8,
    runtime: str = "onnxruntime",
    every_country: bool = False,
    all_sizes: bool = False,
) -> CountryErrors:
    """The misreads among `count` synthetic crops of `country`'s plates drawn from `seed`."""
    samples = synthetic_country_crops(country, count, seed=seed)
    config = ReaderConfig(path=reader_path, runtime=runtime, countries=[] if every_country else [country])
    readings = READERS["onnx"](config).read([s.crop for s in samples])
    looked = [
        (sample, reading)
        for sample, reading in zip(samples, readings, strict=True)
        if all_sizes or sample.char_px >= SPEC_CHAR_PX
    ]
    misreads = [
        Misread(s.style_id, s.text, r.latin, s.char_px, r.confidence, s.crop)
        for s, r in looked
        if r.latin != s.text
    ]
    return CountryErrors(country, len(looked), misreads)


def report_lines(errors: CountryErrors, top_confusions: int = 8) -> list[str]:
    """The summary, one line per misread crop, and the commonest character confusions."""
    lines = [errors.summary()]
    for m in errors.misreads:
        lines.append(
            f"  {m.style_id:24s} {m.truth:10s} -> {m.read or '(nothing)':10s}"
            f" {m.char_px:5.1f} px  confidence {m.confidence:.2f}"
        )
    counts = confusions([(m.truth, m.read) for m in errors.misreads])
    if counts:
        common = ", ".join(f"{a}->{b} {n}" for (a, b), n in counts.most_common(top_confusions))
        lines.append(f"  commonest confusions (label->read, the gap sign for none): {common}")
    return lines


def misread_sheet(misreads: Sequence[Misread]) -> np.ndarray:
    """A contact sheet of up to MAX_SHEET_TILES misread crops, each captioned label>reading."""
    shown = list(misreads)[:MAX_SHEET_TILES]
    return tile_grid([m.crop for m in shown], [f"{m.truth}>{m.read}" for m in shown])


def _countries(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("no country named")
    registry = load_registry()
    countries = []
    for code in codes:
        try:
            countries.append(registry.country(code).code)
        except KeyError:
            raise argparse.ArgumentTypeError(f"unknown country {code}") from None
    return countries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--countries", type=_countries, required=True, help="comma-separated codes, e.g. AT,DE"
    )
    parser.add_argument("--count", type=int, default=400, help="crops drawn per country (default 400)")
    parser.add_argument("--seed", type=int, default=DEV_SEED, help=f"render seed (default {DEV_SEED})")
    parser.add_argument("--every-country", action="store_true", help="read with every country on")
    parser.add_argument("--all-sizes", action="store_true", help="also crops with characters under 15 px")
    parser.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "openvino"])
    parser.add_argument(
        "--reader", type=Path, default=READER_INT8, help="reader model (default: shipped INT8)"
    )
    parser.add_argument("--sheets", type=Path, default=None, help="write <country>_misread.png here")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.seed == SYNTH_COUNTRY_SEED:
        parser.error(f"seed {SYNTH_COUNTRY_SEED} draws the evaluation's held-out crops; pick another")
    for country in args.countries:
        errors = country_errors(
            country, args.count, args.seed, args.reader, args.runtime, args.every_country, args.all_sizes
        )
        print("\n".join(report_lines(errors)), flush=True)
        if args.sheets is not None and errors.misreads:
            args.sheets.mkdir(parents=True, exist_ok=True)
            path = args.sheets / f"{country}_misread.png"
            cv2.imwrite(str(path), misread_sheet(errors.misreads))
            print(f"  sheet: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
