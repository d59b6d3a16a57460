"""The real evaluation photos in `../shared/realdata/` (ru-dev, eu-dev): measuring only, never training."""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REALDATA = REPO_ROOT.parent / "shared" / "realdata" / "ru-dev"
DEFAULT_EU_REALDATA = REPO_ROOT.parent / "shared" / "realdata" / "eu-dev"


@dataclass(frozen=True)
class LabelledPlate:
    box: tuple[int, int, int, int]  # x1, y1, x2, y2
    text: str  # canonical form (Cyrillic for ru-dev, Latin glyphs for eu-dev)
    readable: bool
    country: str | None = None  # ISO 3166 alpha-2 where the set's labels.csv names it (eu-dev)


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    plates: tuple[LabelledPlate, ...]


def realdata_dir(path: str | Path | None = None) -> Path:
    """The set's folder: an explicit path, $ANPR_REALDATA, or ../shared/realdata/ru-dev."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("ANPR_REALDATA", DEFAULT_REALDATA))


def load_real_photos(path: str | Path | None = None) -> list[LabelledPhoto]:
    """Photos with their labelled plates, in file order; FileNotFoundError if the set is absent."""
    root = realdata_dir(path)
    labels = root / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"real evaluation set not found: {labels} (set ANPR_REALDATA)")
    plates: dict[str, list[LabelledPlate]] = defaultdict(list)
    with labels.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            box = (int(row["xmin"]), int(row["ymin"]), int(row["xmax"]), int(row["ymax"]))
            country = row.get("country") or None
            plates[row["image"]].append(LabelledPlate(box, row["text"], row["readable"] == "1", country))
    # ru-dev names images without the suffix ("000"), eu-dev with it ("000.jpg").
    return [
        LabelledPhoto(root / "images" / (name if Path(name).suffix else f"{name}.jpg"), tuple(items))
        for name, items in sorted(plates.items())
    ]
