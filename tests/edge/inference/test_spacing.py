"""Gaps between glyph groups: PL SK 321LE is told from the Italian SK 321 LE, whose glyphs are
the same, by where the reader places them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from reader_spelling import placed, valid_reading

from common.plates.registry import load_registry
from edge.inference.reader import OnnxPlateReader
from edge.inference.reader_input import READER_WIDTH
from edge.inference.spacing import (
    SPACING_BOOST,
    STEP_ACROSS,
    STEP_WITHIN,
    SpacingCheck,
    layout_fit,
    relative_steps,
)
from edge.inference.weights import READER_INT8

REGISTRY = load_registry()
FRAMES = READER_WIDTH // 4  # the reader's 40 frames, 4 px each
# Frames of the seven glyphs of SK321LE: a gap after SK, and after 321 only where Italian.
POLISH_FRAMES = [4, 8, 14, 18, 22, 26, 30]
ITALIAN_FRAMES = [4, 8, 14, 18, 22, 28, 32]
# A view of the Polish plate with the E placed a frame late: a narrow gap where there is none.
NOISY_POLISH_FRAMES = [4, 8, 14, 18, 22, 27, 31]

shipped = pytest.mark.skipif(not READER_INT8.is_file(), reason="reader model not built")


def _logprobs(text: str, frames: list[int]) -> np.ndarray:
    return placed(text, frames, FRAMES)


def test_steps_are_measured_against_the_plates_median_step() -> None:
    steps = relative_steps([10.0, 20.0, 35.0, 45.0, 55.0])
    assert steps is not None and np.allclose(steps, [1.0, 1.5, 1.0, 1.0])
    assert relative_steps([10.0, 20.0, 30.0]) is None  # two steps: which is the wide one?
    assert relative_steps([10.0, 10.0, 10.0, 10.0]) is None


def test_a_wide_step_fits_a_layout_with_a_gap_there() -> None:
    steps = np.array([1.0, 1.5, 1.0, 1.0, 1.0, 1.0])
    assert layout_fit(steps, [2]) > layout_fit(steps, [2, 5]) > layout_fit(steps, [5])
    assert layout_fit(steps, [2]) > layout_fit(steps, [])
    # The laws: a step across a gap is wider, and varies more, than one within a group.
    assert STEP_ACROSS[0] > STEP_WITHIN[0] and STEP_ACROSS[1] > STEP_WITHIN[1]
    with pytest.raises(ValueError, match="does not fit"):
        layout_fit(steps, [7])


def test_rivals_are_other_countries_reading_the_glyphs_with_other_gaps() -> None:
    check = SpacingCheck(REGISTRY.formats_for(None))
    assert {(2,)} == check.layouts("SK321LE")["PL"]
    assert {(2, 5)} == check.layouts("SK321LE")["IT"]
    rivals = check.rivals(valid_reading("SK321LE", "IT/standard"))
    assert "PL" in rivals and rivals["PL"] == {(2,)}
    # France spaces AB-123-CD as Italy does: only the hyphens tell them (edge.inference.hyphens).
    assert "FR" not in rivals
    assert check.rivals(replace(valid_reading("SK321LE", "IT/standard"), valid=False)) == {}
    assert SpacingCheck(REGISTRY.formats_for(["IT"])).rivals(valid_reading("SK321LE", "IT/standard")) == {}


@pytest.mark.parametrize(("frames", "favoured"), [(POLISH_FRAMES, {"PL"}), (ITALIAN_FRAMES, set())])
def test_a_country_whose_gaps_the_plate_shows_is_favoured(frames: list[int], favoured: set[str]) -> None:
    check = SpacingCheck(REGISTRY.formats_for(["PL", "IT"]))
    images = np.zeros((1, 32, READER_WIDTH), np.uint8)
    reading = valid_reading("SK321LE", "IT/standard")
    weights = check.rival_weights([reading], images, _logprobs("SK321LE", frames)[None])
    assert set(weights[0]) == favoured
    assert all(1.0 < w <= SPACING_BOOST for w in weights[0].values())


def test_the_views_of_one_plate_weigh_its_gaps_together() -> None:
    check = SpacingCheck(REGISTRY.formats_for(["PL", "IT"]))
    images = np.zeros((3, 32, READER_WIDTH), np.uint8)
    # Two views show no gap after 321, one (a glyph placed a frame late) a narrow one.
    views = (POLISH_FRAMES, POLISH_FRAMES, NOISY_POLISH_FRAMES)
    logprobs = np.stack([_logprobs("SK321LE", frames) for frames in views])
    readings = [valid_reading("SK321LE", "IT/standard")] * 3
    alone = check.rival_weights(readings, images, logprobs)
    assert [set(w) for w in alone] == [{"PL"}, {"PL"}, set()]
    together = check.rival_weights(readings, images, logprobs, plate_ids=[0, 0, 0])
    assert [set(w) for w in together] == [{"PL"}] * 3
    assert together[0]["PL"] < alone[0]["PL"]


@shipped
@pytest.mark.parametrize(("frames", "country"), [(POLISH_FRAMES, "PL"), (ITALIAN_FRAMES, "IT")])
def test_the_reader_takes_the_country_whose_gaps_the_plate_shows(
    frames: list[int], country: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1, countries=["PL", "IT"])
    reader.band_reader = None
    monkeypatch.setattr(reader, "_run", lambda images: np.stack([_logprobs("SK321LE", frames)] * len(images)))
    crop = np.full((40, 180, 3), 220, np.uint8)
    crop[8:32, 10:170:20] = 20  # dark glyph strokes on a light ground: read plain, not inverted
    reading = reader.read([crop])[0]
    assert (reading.latin, reading.valid, reading.country) == ("SK321LE", True, country)


@shipped
def test_icelandic_plates_keep_their_country_more_often() -> None:
    """Iceland's AB 123 shares its glyphs with plates of other layouts; on 200 of the evaluation's
    synthetic Icelandic crops the right glyphs came with the right country 69 times with the check
    and 17 without (every country on, the band reader on, as the edge builds it)."""
    from common.config import ReaderConfig
    from edge.inference.models import READERS
    from models.evaluate import synthetic_country_crops

    samples = synthetic_country_crops("IS", 200)
    config = ReaderConfig(path=READER_INT8, runtime="onnxruntime")
    checked, unchecked = READERS["onnx"](config), READERS["onnx"](config)
    assert isinstance(checked, OnnxPlateReader) and isinstance(unchecked, OnnxPlateReader)
    unchecked.spacing = SpacingCheck([])

    def right(reader: OnnxPlateReader) -> tuple[int, int]:
        readings = reader.read([s.crop for s in samples])
        glyphs = [r.latin == s.text for r, s in zip(readings, samples, strict=True)]
        return sum(glyphs), sum(g and r.country == "IS" for g, r in zip(glyphs, readings, strict=True))

    (glyphs_on, country_on), (glyphs_off, country_off) = right(checked), right(unchecked)
    assert glyphs_on == glyphs_off  # the check moves countries, never glyphs
    assert country_on >= country_off + 30, (country_on, country_off)
