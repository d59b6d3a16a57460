"""The real evaluation photos in `../shared/realdata/` (ru-dev, eu-dev): measuring only, never training.

The sets are read-only; a label the photo proves wrong is corrected in `realdata_errata.csv` beside
this module, with the evidence, and `load_real_photos` applies it (each measurement says so)."""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REALDATA = REPO_ROOT.parent / "shared" / "realdata" / "ru-dev"
DEFAULT_EU_REALDATA = REPO_ROOT.parent / "shared" / "realdata" / "eu-dev"
# Labels of the shared sets that the photos show to be wrong, with the evidence; the shared sets
# are read-only, so the correction lives here and every measurement applies it (and says so).
ERRATA_FILE = Path(__file__).resolve().parent / "realdata_errata.csv"


@dataclass(frozen=True)
class LabelledPlate:
    box: tuple[int, int, int, int]  # x1, y1, x2, y2
    text: str  # canonical form (Cyrillic for ru-dev, Latin glyphs for eu-dev)
    readable: bool
    country: str | None = None  # ISO 3166 alpha-2 where the set's labels.csv names it (eu-dev)
    labelled_as: str | None = None  # the set's own text, where an erratum corrected it


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    plates: tuple[LabelledPlate, ...]


def realdata_dir(path: str | Path | None = None) -> Path:
    """The set's folder: an explicit path, $ANPR_REALDATA, or ../shared/realdata/ru-dev."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("ANPR_REALDATA", DEFAULT_REALDATA))


@dataclass(frozen=True)
class LabelErratum:
    """One corrected label: the set (its folder name), the photo and plate, the set's text, the
    text the photo shows, and why."""

    set_name: str
    image: str
    plate_index: str
    label: str
    corrected: str
    evidence: str


def label_errata(path: str | Path | None = None) -> list[LabelErratum]:
    """The corrections in ERRATA_FILE that apply to this set's labels.csv as it stands: one whose
    label no longer reads as listed (fixed upstream, or another set of that name) is left out."""
    root = realdata_dir(path)
    errata = _listed_errata(root.name)
    if not errata:
        return []
    with (root / "labels.csv").open(encoding="utf-8", newline="") as handle:
        texts = {(r["image"], r["plate_index"]): r["text"] for r in csv.DictReader(handle)}
    return [e for e in errata if texts.get((e.image, e.plate_index)) == e.label]


def _listed_errata(set_name: str) -> list[LabelErratum]:
    """The entries of ERRATA_FILE for the set of this folder name, whatever its labels read."""
    with ERRATA_FILE.open(encoding="utf-8", newline="") as handle:
        return [
            LabelErratum(r["set"], r["image"], r["plate_index"], r["label"], r["corrected"], r["evidence"])
            for r in csv.DictReader(handle)
            if r["set"] == set_name
        ]


def load_real_photos(path: str | Path | None = None, errata: bool = True) -> list[LabelledPhoto]:
    """Photos with their labelled plates, in file order, the labels of `label_errata` corrected
    (`errata=False`: as the set has them); FileNotFoundError if the set is absent."""
    root = realdata_dir(path)
    labels = root / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"real evaluation set not found: {labels} (set ANPR_REALDATA)")
    # Checked against each row as it is read: a label that no longer reads as listed stays.
    entries = _listed_errata(root.name) if errata else []
    listed = {(e.image, e.plate_index, e.label): e.corrected for e in entries}
    plates: dict[str, list[LabelledPlate]] = defaultdict(list)
    with labels.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            box = (int(row["xmin"]), int(row["ymin"]), int(row["xmax"]), int(row["ymax"]))
            country = row.get("country") or None
            corrected = listed.get((row["image"], row["plate_index"], row["text"]))
            text, labelled_as = (row["text"], None) if corrected is None else (corrected, row["text"])
            readable = row["readable"] == "1"
            plates[row["image"]].append(LabelledPlate(box, text, readable, country, labelled_as))
    # ru-dev names images without the suffix ("000"), eu-dev with it ("000.jpg").
    return [
        LabelledPhoto(root / "images" / (name if Path(name).suffix else f"{name}.jpg"), tuple(items))
        for name, items in sorted(plates.items())
    ]
