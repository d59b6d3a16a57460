"""`python -m models.evaluate` reports eu-dev beside ru-dev, per country, and the reader per
country on synthetic plates of every country (run here on a few photos of each set)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from models.paths import DETECTOR_INT8, READER_INT8
from models.realdata import DEFAULT_EU_REALDATA, DEFAULT_REALDATA

pytestmark = pytest.mark.skipif(
    not (DEFAULT_REALDATA / "labels.csv").is_file()
    or not (DEFAULT_EU_REALDATA / "labels.csv").is_file()
    or not READER_INT8.is_file()
    or not DETECTOR_INT8.is_file(),
    reason="needs ../shared/realdata/{ru,eu}-dev and the shipped models",
)


def _subset(source: Path, target: Path, images: int) -> Path:
    """The first `images` photos of a real set, with their labels, as a set of its own."""
    with (source / "labels.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = sorted({row["image"] for row in rows})[:images]
    (target / "images").mkdir(parents=True)
    with (target / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(row for row in rows if row["image"] in names)
    for name in names:
        file = name if Path(name).suffix else f"{name}.jpg"
        shutil.copy(source / "images" / file, target / "images" / file)
    return target


def test_eu_dev_is_reported_beside_ru_dev_per_country(tmp_path: Path) -> None:
    from models.evaluate import main

    ru = _subset(DEFAULT_REALDATA, tmp_path / "ru-dev", 3)
    eu = _subset(DEFAULT_EU_REALDATA, tmp_path / "eu-dev", 8)
    out = tmp_path / "report"
    args = ["--out", str(out), "--realdata", str(ru), "--eu-realdata", str(eu)]
    assert main([*args, "--scenes", "2", "--crops", "10", "--crops-per-country", "2"]) == 0
    report = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    for variant in ("FP32", "INT8"):
        eu_dev = report["real_eu"][variant]
        by_country = eu_dev["end_to_end_per_country"]
        assert set(by_country) <= {"FR", "PL", "RO", "DE"} and len(by_country) >= 2
        assert sum(s["plates"] for s in by_country.values()) == eu_dev["end_to_end"]["plates"]
        assert 0 <= eu_dev["end_to_end"]["wrong_country"] <= eu_dev["end_to_end"]["valid_matched"]
        assert set(report["real"][variant]["end_to_end_per_country"]) == {"RU"}
        synthetic = report["synthetic"][variant]["reader_by_country"]
        assert len(synthetic) >= 40 and {s["plates"] for s in synthetic.values()} == {2}
        in_spec = report["synthetic"][variant]["reader_by_country_in_spec"]
        assert set(in_spec) <= set(synthetic) and all(s["plates"] in (1, 2) for s in in_spec.values())
        own = report["synthetic"][variant]["reader_by_country_site_prior"]
        assert set(own) == set(synthetic) and {s["plates"] for s in own.values()} == {2}
        own_in_spec = report["synthetic"][variant]["reader_by_country_site_prior_in_spec"]
        plates = {c: s["plates"] for c, s in in_spec.items()}
        assert {c: s["plates"] for c, s in own_in_spec.items()} == plates
        by_height = report["synthetic"][variant]["reader_by_char_px"]
        assert sum(score["plates"] for _, score in by_height) == 2 * len(synthetic)
    text = (out / "evaluation.md").read_text(encoding="utf-8")
    assert "## Real European photos (eu-dev), every country on" in text
    assert "### eu-dev end to end by country" in text
    assert "countries at 98% or more" in text
    assert "characters are 15 px or taller (the installation spec)" in text
    assert "with the plate's own country as the site prior" in text
