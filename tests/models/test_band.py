"""The band reader's training side: classes, labelled synthetic patches, training, export."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from common.plates.registry import load_registry
from edge.inference.band_input import BAND_HEIGHT, BAND_WIDTH, NO_BAND
from edge.inference.model_info import onnx_metadata
from models.band.data import BandSampleFactory, band_classes, band_label
from models.synth.fonts import FontSet
from models.synth.plate_render import PLATE_STYLES

needs_font = pytest.mark.plate_font


def test_classes_are_no_band_and_every_eu_band_code_of_the_registry() -> None:
    classes = band_classes()
    registry = load_registry()
    assert classes[0] == NO_BAND and len(set(classes)) == len(classes)
    assert {"F", "D", "PL", "RO", "I", "NL", "A", "SK"} <= set(classes)
    # Every code is one the grammar can turn into a country; flag-band and bandless countries are not.
    assert all(registry.country_for_band(c) for c in classes[1:])
    assert not {"RUS", "UA", "CH", "BY", "KZ"} & set(classes)


def test_labels_follow_the_band_a_style_draws() -> None:
    assert band_label(PLATE_STYLES["RU/standard"]) == NO_BAND
    assert band_label(PLATE_STYLES["UA/standard"]) == NO_BAND  # a flag band, not an EU one
    assert PLATE_STYLES["DE/standard"].band == "EU" and band_label(PLATE_STYLES["DE/standard"]) == "D"


@needs_font
def test_a_band_drawn_on_a_format_without_one_is_labelled_by_what_was_drawn() -> None:
    from models.synth.ocr_samples import OcrSample
    from models.synth.plate_render import render_plate_layout

    # French FNI plates carry the EU band on about half of the plates made after 1993.
    fonts, fni = FontSet.discover(), PLATE_STYLES["FR/fni"]
    layouts = [render_plate_layout(fni, "353ASK35", fonts, np.random.default_rng(s))[1] for s in range(12)]
    drawn = {layout.left_band for layout in layouts}
    assert drawn == {"EU", None}
    factory = BandSampleFactory(FontSet.discover())
    crop = np.zeros((20, 80, 3), np.uint8)
    assert factory.label(OcrSample(crop, "353ASK35", "FR/fni", False, band="EU")) == "F"
    assert factory.label(OcrSample(crop, "353ASK35", "FR/fni", False, band=None)) == NO_BAND
    assert factory.label(OcrSample(crop, "A123BC77", "RU/standard", False, band="FLAG")) == NO_BAND
    assert factory.label(OcrSample(crop, "BMA1234", "DE/standard", False, band="EU")) == "D"


@needs_font
def test_samples_are_deterministic_balanced_patches() -> None:
    factory = BandSampleFactory(FontSet.discover())
    patch, label = factory.sample(3, 0)
    again, label_again = factory.sample(3, 0)
    assert patch.shape == (BAND_HEIGHT, BAND_WIDTH, 3) and patch.dtype == np.uint8
    assert np.array_equal(patch, again) and label == label_again
    counts = Counter(factory.sample(4, i)[1] for i in range(150))
    # Band plates and the rest both common; no single code dominates the band plates.
    assert 0.3 < 1 - counts[0] / 150 < 0.8
    assert max(v for k, v in counts.items() if k != 0) < 20


@needs_font
def test_training_writes_a_checkpoint_the_export_ships(tmp_path: Path) -> None:
    from edge.inference.band_reader import OnnxBandReader
    from models.band.export import export_band
    from models.band.train import main

    out = tmp_path / "run"
    args = ["--out", str(out), "--data", str(tmp_path / "data"), "--count", "64", "--test-count", "32"]
    assert main([*args, "--minutes", "0.05", "--eval-every", "5", "--ckpt-every", "5", "--batch", "16"]) == 0
    assert (out / "last.pt").is_file()
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert lines[-1]["final"] and 0.0 <= lines[-1]["accuracy"] <= 1.0
    onnx_path = export_band(out / "last.pt", tmp_path / "band.onnx")
    meta = onnx_metadata(onnx_path)
    assert meta["anpr_kind"] == "band" and json.loads(meta["classes"]) == list(band_classes())
    assert not onnx_path.with_name(onnx_path.name + ".data").exists()
    reader = OnnxBandReader(onnx_path, runtime="onnxruntime", threads=1)
    readings = reader.read([np.full((30, 150, 3), 200, np.uint8), np.zeros((30, 150), np.uint8)])
    assert len(readings) == 2 and readings[1].code == NO_BAND  # grey crops show no blue band
    assert all(r.code in reader.classes for r in readings)
