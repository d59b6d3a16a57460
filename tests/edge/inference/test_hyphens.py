"""Hyphens between glyph groups: a FR SIV plate (AB-123-CD) is told from the Italian plate with
the same glyphs (AB 123 CD) by the hyphens the crop shows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from reader_spelling import placed, valid_reading

from common.plates.registry import load_registry
from edge.inference import reader as reader_module
from edge.inference.hyphens import (
    HYPHEN_MIN_CONTRAST,
    HYPHEN_MIN_CONTRAST_ONE_GAP,
    HyphenCheck,
    glyph_centres,
    group_gaps,
    hyphen_contrast,
    shows_hyphens,
)
from edge.inference.reader import OnnxPlateReader
from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH
from edge.inference.weights import READER_INT8

REGISTRY = load_registry()
# Glyph centres of a seven-glyph plate on the reader image, two wider gaps after glyphs 2 and 5.
CENTRES = [14.0, 30.0, 62.0, 78.0, 94.0, 126.0, 142.0]
FRAMES = len(CENTRES) * 5 + 5  # the reader's 40 frames, 4 px each
FRAME_PX = READER_WIDTH / FRAMES


def _plate_image(hyphens: tuple[bool, bool]) -> np.ndarray:
    """A grey reader image: light ground, seven dark H-shaped glyphs 16 px tall, and a 2 px bar
    at half height in each gap where `hyphens` says so."""
    image = np.full((READER_HEIGHT, READER_WIDTH), 210, np.uint8)
    image[:3], image[-3:] = 40, 40  # the holder frame above and below the plate
    top, bottom = 8, 24
    for x in CENTRES:
        left, right = int(x) - 5, int(x) + 5
        image[top:bottom, left : left + 2] = 30
        image[top:bottom, right - 2 : right] = 30
        image[15:17, left:right] = 30
    for shown, (a, b) in zip(hyphens, ((CENTRES[1], CENTRES[2]), (CENTRES[4], CENTRES[5])), strict=True):
        if shown:
            middle = int((a + b) / 2)
            image[15:17, middle - 4 : middle + 4] = 30
    return image


def _logprobs(text: str) -> np.ndarray:
    """(T, C) log-probabilities that read `text`, each glyph peaking at the frame of its centre."""
    return placed(text, [int(x / FRAME_PX) for x in CENTRES], FRAMES)


def test_gaps_fall_between_the_display_groups() -> None:
    assert group_gaps(REGISTRY.get("FR", "siv"), "AB123CD") == [2, 5]
    assert group_gaps(REGISTRY.get("NL", "sidecode_9"), "BD123F") == [2, 5]
    assert group_gaps(REGISTRY.get("FI", "standard"), "ABC123") == [3]


def test_a_bar_at_half_height_in_every_gap_is_a_hyphen() -> None:
    both = hyphen_contrast(_plate_image((True, True)), CENTRES, [2, 5])
    blank = hyphen_contrast(_plate_image((False, False)), CENTRES, [2, 5])
    one = hyphen_contrast(_plate_image((True, False)), CENTRES, [2, 5])
    assert both >= 0.5
    assert abs(blank) < 0.05
    assert one < HYPHEN_MIN_CONTRAST  # the weakest gap decides
    with pytest.raises(ValueError, match="no gaps"):
        hyphen_contrast(_plate_image((True, True)), CENTRES, [])


def test_a_single_gap_must_show_its_hyphen_more_plainly_than_two_gaps_each() -> None:
    # One measurement errs more often than the weaker of two (Estonian 123 ABC plates, read as
    # the Belgian 123-ABC, would pass at the two-gap threshold 12% of the time).
    assert shows_hyphens(HYPHEN_MIN_CONTRAST, 2) and shows_hyphens(HYPHEN_MIN_CONTRAST, 3)
    assert not shows_hyphens(HYPHEN_MIN_CONTRAST, 1)
    assert shows_hyphens(HYPHEN_MIN_CONTRAST_ONE_GAP, 1)


def test_the_readers_alignment_places_the_glyphs() -> None:
    logprobs = _logprobs("AB123CD")
    centres = glyph_centres(READER_WIDTH, logprobs, "AB123CD")
    assert centres is not None and np.allclose(centres, CENTRES, atol=FRAME_PX / 2)
    # On the glyphs it places, the image shows the hyphens or not.
    assert hyphen_contrast(_plate_image((True, True)), centres, [2, 5]) >= HYPHEN_MIN_CONTRAST
    assert hyphen_contrast(_plate_image((False, False)), centres, [2, 5]) < HYPHEN_MIN_CONTRAST
    # Log-probabilities that cannot spell the reading place nothing.
    assert glyph_centres(READER_WIDTH, logprobs[:5], "AB123CD") is None


def test_only_readings_of_formats_without_hyphens_have_hyphenated_rivals() -> None:
    check = HyphenCheck(REGISTRY.formats_for(None))
    rivals = {fmt.key for fmt in check.rivals(valid_reading("AB123CD", "IT/standard"))}
    assert rivals == {"FR/siv", "FR/siv_collection", "GE/standard"}
    assert check.rivals(valid_reading("AB123CD", "FR/siv")) == []
    assert check.rivals(valid_reading("A123BC77", "RU/standard")) == []
    assert check.rivals(replace(valid_reading("AB123CD", "IT/standard"), valid=False)) == []
    # A site that reads only Italian and Polish plates has no hyphenated format to weigh.
    italian_and_polish = HyphenCheck(REGISTRY.formats_for(["IT", "PL"]))
    assert italian_and_polish.rivals(valid_reading("AB123CD", "IT/standard")) == []


def test_hyphens_seen_on_any_view_of_a_plate_count_for_all_its_views() -> None:
    check = HyphenCheck(REGISTRY.formats_for(["FR", "IT"]))
    images = np.stack([_plate_image((False, False)), _plate_image((True, True))])
    logprobs = np.stack([_logprobs("AB123CD")] * 2)
    readings = [valid_reading("AB123CD", "IT/standard"), valid_reading("AB123CD", "IT/standard")]
    assert check.countries_seen(readings, images, logprobs) == [frozenset(), frozenset({"FR"})]
    assert check.countries_seen(readings, images, logprobs, plate_ids=[7, 7]) == [frozenset({"FR"})] * 2
    # The view already read as French shows the hyphens for the Italian reading of its plate.
    readings[1] = valid_reading("AB123CD", "FR/siv")
    french, none = frozenset({"FR"}), frozenset()
    assert check.countries_seen(readings, images, logprobs, plate_ids=[7, 7]) == [french, none]
    assert check.countries_seen(readings, images, logprobs, plate_ids=[7, 8]) == [none, none]


@pytest.mark.skipif(not READER_INT8.is_file(), reason="reader model not built")
@pytest.mark.plate_font
@pytest.mark.parametrize("country", ["IS", "FI"])
def test_hyphens_change_the_country_of_a_reading_never_its_glyphs(
    country: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Favouring a country lifts all its strings: one of its formats that holds fewer plates could
    # then win with glyphs the reader is less sure of (IS GFB49, in the evaluation's Icelandic
    # crops, came out as the Finnish GF49).
    from models.evaluate import synthetic_country_crops

    crops = [sample.crop for sample in synthetic_country_crops(country, 100)]
    reader = OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1)
    with_hyphens = reader.read(crops)
    monkeypatch.setattr(reader_module, "HYPHEN_BOOST", 1.0)
    without = reader.read(crops)
    assert [r.latin for r in with_hyphens] == [r.latin for r in without]
    assert [r.confidence for r in with_hyphens] == [r.confidence for r in without]
