"""The real evaluation sets as measurements read them: labels the photos prove wrong are corrected
from models/realdata_errata.csv, and say what the set itself has."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import models.realdata as realdata
from common.plates import validate
from models.realdata import DEFAULT_EU_REALDATA, ERRATA_FILE, label_errata, load_real_photos

ERRATA_HEADER = "set,image,plate_index,label,corrected,evidence\n"


def _set(root: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A real set of (image, plate_index, text) labels in a folder named as the set."""
    root.mkdir(parents=True)
    with (root / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["image", "plate_index", "xmin", "ymin", "xmax", "ymax", "text", "readable", "country"]
        )
        writer.writerows([image, index, 0, 0, 10, 5, text, 1, "PL"] for image, index, text in rows)
    return root


@pytest.fixture
def errata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    file = tmp_path / "errata.csv"
    file.write_text(ERRATA_HEADER + 'eu-dev,001.jpg,1,S00773X,SO0773X,"SO is Sosnowiec"\n', encoding="utf-8")
    monkeypatch.setattr(realdata, "ERRATA_FILE", file)
    return file


def test_a_label_listed_in_the_errata_is_read_corrected_and_keeps_the_set_text(
    tmp_path: Path, errata: Path
) -> None:
    root = _set(tmp_path / "eu-dev", [("001.jpg", "0", "KR466WV"), ("001.jpg", "1", "S00773X")])
    (photo,) = load_real_photos(root)
    assert [(p.text, p.labelled_as) for p in photo.plates] == [("KR466WV", None), ("SO0773X", "S00773X")]
    (as_set,) = load_real_photos(root, errata=False)
    assert [p.text for p in as_set.plates] == ["KR466WV", "S00773X"]
    applied = [(e.image, e.label, e.corrected) for e in label_errata(root)]
    assert applied == [("001.jpg", "S00773X", "SO0773X")]


def test_an_erratum_whose_label_reads_otherwise_or_of_another_set_is_left_out(
    tmp_path: Path, errata: Path
) -> None:
    fixed_upstream = _set(tmp_path / "a" / "eu-dev", [("001.jpg", "1", "SO0773X")])
    other_set = _set(tmp_path / "b" / "ru-dev", [("001.jpg", "1", "S00773X")])
    assert label_errata(fixed_upstream) == [] and label_errata(other_set) == []
    assert load_real_photos(other_set)[0].plates[0].text == "S00773X"


def test_every_shipped_correction_is_a_plate_of_its_country_where_the_label_was_none() -> None:
    with ERRATA_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["evidence"].strip() for row in rows)
    if not (DEFAULT_EU_REALDATA / "labels.csv").is_file():
        pytest.skip("needs ../shared/realdata/eu-dev")
    applied = {(e.image, e.label): e for e in label_errata(DEFAULT_EU_REALDATA)}
    with (DEFAULT_EU_REALDATA / "labels.csv").open(encoding="utf-8", newline="") as handle:
        countries = {(r["image"], r["text"]): r["country"] for r in csv.DictReader(handle)}
    for row in rows:
        if row["set"] != "eu-dev":
            continue
        assert (row["image"], row["label"]) in applied, f"{row['image']} {row['label']} not in eu-dev"
        country = countries[(row["image"], row["label"])]
        assert not validate(row["label"], countries=[country]).valid
        assert validate(row["corrected"], countries=[country]).valid
