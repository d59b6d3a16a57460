"""The runtime plate reader: preprocessing, crops and reading synthetic plates with the shipped model."""

from __future__ import annotations

import numpy as np
import pytest
from reader_spelling import spelling

from common.plates.alphabet import to_latin
from edge.inference.crops import crop_plate
from edge.inference.ground_colour import PlateGround
from edge.inference.protocols import PlateDetection, PlateReader
from edge.inference.reader_input import (
    READER_HEIGHT,
    READER_WIDTH,
    may_be_two_row,
    prepare_reader_batch,
    reader_image,
)
from edge.inference.runtimes import ModelLoadError
from edge.inference.text_polarity import shows_dark_text
from edge.inference.weights import READER_FP32, READER_INT8


def _plate_like(h: int = 40, w: int = 180, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    crop = np.full((h, w, 3), 220, np.uint8)
    for x in range(8, w - 12, 18):
        crop[6 : h - 6, x : x + int(rng.integers(4, 10))] = 20
    return crop


# --- preprocessing -----------------------------------------------------------------------------


def test_batch_is_standardised_gray_of_the_reader_size() -> None:
    batch = prepare_reader_batch([_plate_like(), _plate_like(60, 90, 1)[..., 0]])
    assert batch.shape == (2, 1, READER_HEIGHT, READER_WIDTH) and batch.dtype == np.float32
    assert np.allclose(batch.mean(axis=(1, 2, 3)), 0.0, atol=1e-4)
    assert np.allclose(batch.std(axis=(1, 2, 3)), 1.0, atol=1e-3)


def test_preprocessing_ignores_exposure() -> None:
    crop = _plate_like()
    darker = (crop * 0.5).astype(np.uint8)
    a, b = prepare_reader_batch([crop]), prepare_reader_batch([darker])
    assert np.abs(a - b).max() < 0.05


def test_two_row_view_puts_the_rows_side_by_side() -> None:
    crop = np.zeros((100, 120), np.uint8)
    crop[:50] = 200  # bright top row, dark bottom row
    image = reader_image(crop, two_row=True)
    assert image[:, : READER_WIDTH // 2].mean() > 190 and image[:, READER_WIDTH // 2 :].mean() < 10
    assert may_be_two_row(crop) and not may_be_two_row(_plate_like(40, 180))


def test_bad_crops_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="uint8"):
        prepare_reader_batch([np.zeros((20, 80, 3), np.float32)])
    with pytest.raises(ValueError, match="too small"):
        prepare_reader_batch([np.zeros((1, 80, 3), np.uint8)])
    with pytest.raises(ValueError, match="one flag per crop"):
        prepare_reader_batch([_plate_like()], two_row=[True, False])
    assert prepare_reader_batch([]).shape == (0, 1, READER_HEIGHT, READER_WIDTH)


# --- crops ---------------------------------------------------------------------------------------


def test_crop_is_the_detector_box_clipped_to_the_frame() -> None:
    frame = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    crop = crop_plate(frame, PlateDetection(box=(10.4, 20.6, 60.2, 40.0), score=0.9))
    assert crop.shape == (20, 51, 3)
    assert np.array_equal(crop, frame[20:40, 10:61])
    edge = crop_plate(frame, PlateDetection(box=(-15.0, 90.0, 30.0, 130.0), score=0.9))
    assert edge.shape == (10, 30, 3)
    sliver = crop_plate(frame, PlateDetection(box=(199.5, 10.0, 199.9, 30.0), score=0.9))
    assert sliver.shape[1] == 2
    with pytest.raises(ValueError, match="outside"):
        crop_plate(frame, PlateDetection(box=(300.0, 10.0, 350.0, 30.0), score=0.9))


# --- reading with the shipped model ---------------------------------------------------------------

shipped = pytest.mark.skipif(
    not READER_INT8.is_file(), reason="reader model not built yet (edge/inference/weights/reader_int8.onnx)"
)
needs_font = pytest.mark.plate_font


@pytest.fixture(scope="module")
def reader():
    from edge.inference.reader import OnnxPlateReader

    return OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1, countries=["RU"])


@pytest.fixture(scope="module")
def ru_samples():
    from models.synth.augment import DegradeParams
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES

    mild = DegradeParams(night_p=0.0, glare_p=0.0, dirt_p=0.0, occlude_p=0.0, jpeg_range=(60, 95))
    factory = OcrSampleFactory(FontSet.discover(), styles=[PLATE_STYLES["RU/standard"]], degrade=mild)
    return [factory.sample(123, i) for i in range(12)]


@shipped
@needs_font
def test_reader_reads_synthetic_russian_plates(reader, ru_samples) -> None:
    protocol_view: PlateReader = reader  # satisfies the pipeline's protocol (checked by type checkers)
    assert callable(protocol_view.read)
    readings = reader.read([s.crop for s in ru_samples])
    assert len(readings) == len(ru_samples)
    correct = sum(r.latin == s.text for r, s in zip(readings, ru_samples, strict=True))
    assert correct >= 10, [(r.latin, s.text) for r, s in zip(readings, ru_samples, strict=True)]
    for r, s in zip(readings, ru_samples, strict=True):
        if r.latin == s.text:
            assert r.valid and r.country == "RU" and r.format == "standard"
            assert to_latin(r.text) == r.latin and r.text != r.latin  # canonical is Cyrillic
            assert 0.0 < r.confidence <= 1.0 and r.region == s.text[6:]


@shipped
@needs_font
def test_batching_does_not_change_readings(reader, ru_samples) -> None:
    crops = [s.crop for s in ru_samples[:10]]  # more than one internal batch of 8
    together = [r.text for r in reader.read(crops)]
    alone = [reader.read([c])[0].text for c in crops]
    assert together == alone
    assert reader.read([]) == []


@shipped
def test_countries_without_two_row_plates_skip_the_two_row_view() -> None:
    from edge.inference.reader import OnnxPlateReader

    reader = OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1, countries=["FR", "DE"])
    assert reader.row_counts == {1}
    square = _plate_like(120, 150)
    assert may_be_two_row(square)
    calls: list[object] = []
    reader.logprobs = lambda *args: calls.append(args)  # the two-row view would be read here
    [reading] = reader.read([square])
    assert calls == [] and not reading.valid
    two_rows = reader.decode_view(spelling([{g: 1.0} for g in "AB123CD"]), view_rows=2, dark_text=True)
    assert (two_rows.latin, two_rows.valid) == ("AB123CD", False)


@shipped
@needs_font
def test_reader_reads_a_two_row_plate() -> None:
    from edge.inference.reader import OnnxPlateReader
    from models.synth.augment import DegradeParams
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import CropParams, OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES

    clean = DegradeParams(
        night_p=0.0, glare_p=0.0, dirt_p=0.0, occlude_p=0.0, blur_p=0.0, motion_p=0.0, jpeg_range=(80, 95)
    )
    factory = OcrSampleFactory(
        FontSet.discover(),
        styles=[PLATE_STYLES["RU/square"]],
        degrade=clean,
        crop=CropParams(source_width=(250, 300)),
    )
    reader = OnnxPlateReader(READER_INT8, runtime="onnxruntime", countries=["RU"])
    samples = [factory.sample(5, i) for i in range(6)]
    readings = reader.read([s.crop for s in samples])
    assert (
        sum(r.latin == s.text and r.format == "square" for r, s in zip(readings, samples, strict=True)) >= 4
    )


def test_wrong_model_file_is_refused(tmp_path) -> None:
    from edge.inference.reader import OnnxPlateReader

    with pytest.raises(ModelLoadError, match="not found"):
        OnnxPlateReader(tmp_path / "missing.onnx")
    if READER_FP32.is_file():
        reader = OnnxPlateReader(READER_FP32, runtime="onnxruntime")
        assert reader.session.input_shape[1:] == (1, READER_HEIGHT, "width")  # any width (the narrow view)


# --- which formats a view can show -------------------------------------------------------------


# `6777XA70` is a valid RU military plate (light glyphs on black) and, in two rows, a motorcycle
# plate; with `C` for the first glyph it is an ordinary standard plate. The reader is sure enough
# of the `6` (98%) to beat the standard plate's prior (40 times the weight of military plates).
_MISREAD_FIRST_LETTER = [{"6": 0.98, "C": 0.02}] + [{g: 1.0} for g in "777XA70"]


@shipped
def test_a_light_on_dark_format_is_not_read_from_dark_glyphs(reader) -> None:
    lp = spelling(_MISREAD_FIRST_LETTER)
    light = reader.decode_view(lp, view_rows=1, dark_text=False)
    assert (light.latin, light.format, light.valid) == ("6777XA70", "military", True)
    dark = reader.decode_view(lp, view_rows=1, dark_text=True)
    assert (dark.text, dark.format, dark.valid) == ("С777ХА70", "standard", True)


@shipped
def test_a_two_row_format_is_only_read_from_the_two_row_view(reader) -> None:
    lp = spelling(_MISREAD_FIRST_LETTER)
    two_rows = reader.decode_view(lp, view_rows=2, dark_text=True)
    assert (two_rows.latin, two_rows.format) == ("6777XA70", "motorcycle")
    only_military = spelling([{g: 1.0} for g in "6777XA70"])
    one_row = reader.decode_view(only_military, view_rows=1, dark_text=True)
    assert not one_row.valid and one_row.text == one_row.latin == "6777XA70" and one_row.format is None


@shipped
@needs_font
def test_light_on_dark_plates_are_still_read_as_their_format(reader) -> None:
    from models.synth.augment import DegradeParams
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES

    mild = DegradeParams(night_p=0.0, glare_p=0.0, dirt_p=0.0, occlude_p=0.0, jpeg_range=(60, 95))
    for style, format_id in (("RU/military", "military"), ("RU/police", "police")):
        factory = OcrSampleFactory(FontSet.discover(), styles=[PLATE_STYLES[style]], degrade=mild)
        samples = [factory.sample(7, i) for i in range(8)]
        assert not any(shows_dark_text(s.crop) for s in samples)
        readings = reader.read([s.crop for s in samples])
        pairs = list(zip(readings, samples, strict=True))
        right = sum(r.latin == s.text and r.format == format_id for r, s in pairs)
        assert right >= 6, [(r.latin, r.format, s.text) for r, s in pairs]


@shipped
@needs_font
def test_white_on_black_plates_are_also_read_inverted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader reads dark glyphs better; a crop that may be a light-on-dark plate is read
    inverted too, as one of the light-on-dark formats (here Liechtenstein's, white on black)."""
    from edge.inference.reader import OnnxPlateReader
    from models.evaluate import synthetic_country_crops

    samples = synthetic_country_crops("LI", 200)

    def right(reader: OnnxPlateReader) -> list[bool]:
        readings = reader.read([s.crop for s in samples])
        pairs = zip(readings, samples, strict=True)
        return [r.latin == s.text and r.valid and r.country == "LI" for r, s in pairs]

    both_ways = OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1, countries=["LI", "CH", "AT"])
    assert both_ways.light_text is not None and both_ways.light_text.countries == ["LI"]
    with_inversion = right(both_ways)
    monkeypatch.setattr(both_ways, "light_text", None)
    plain = right(both_ways)
    # Plain, a third of them are not even read as LI: their thin black gaps between white
    # strokes pass for dark glyphs (text_polarity), which rules the white-on-black format out.
    counts = sum(with_inversion), sum(plain)
    assert counts[0] >= 190 and counts[0] >= counts[1] + 10, counts
    assert OnnxPlateReader(READER_INT8, runtime="onnxruntime", countries=["CH"]).light_text is None


@shipped
@pytest.mark.parametrize(("inverted_p", "kept"), [(0.7, "standard"), (0.95, "military")])
def test_an_inverted_reading_must_be_half_as_sure_again_to_replace_a_plain_one(
    reader, monkeypatch: pytest.MonkeyPatch, inverted_p: float, kept: str
) -> None:
    from dataclasses import replace

    from edge.inference.band_reader import CropPriors
    from edge.inference.reader import INVERTED_MARGIN

    plain = reader.decode_view(spelling([{g: 1.0} for g in "C777XA70"]), view_rows=1, dark_text=False)
    plain = replace(plain, confidence=0.6)
    assert plain.format == "standard" and INVERTED_MARGIN == 1.5  # 0.9 to beat
    spelled = spelling([{"1": inverted_p, "C": 1 - inverted_p}] + [{g: 1.0} for g in "777XA70"])
    monkeypatch.setattr(reader, "_run", lambda images: np.stack([spelled] * len(images)))
    bright_minority = np.zeros((1, READER_HEIGHT, READER_WIDTH), np.uint8)
    bright_minority[:, 10:20, 20:60] = 255
    best = [plain]
    no_band = CropPriors(None, list(bright_minority), None)
    reader._read_inverted(bright_minority, [None], no_band, [0.0], best)
    assert best[0].format == kept


@shipped
@needs_font
def test_a_reading_no_surer_than_the_one_held_is_not_looked_for(reader, ru_samples) -> None:
    crops = [s.crop for s in ru_samples]
    plain = reader.read(crops)
    assert sum(r.valid for r in plain) >= 10
    below = reader.read(crops, at_least=[r.confidence / 2 for r in plain])
    assert below == plain
    # Above the plate's own confidence the reader may give up (and say not valid), or read it
    # as before; it never returns another valid reading.
    bar = [r.confidence * 1.5 for r in plain]
    above = reader.read(crops, at_least=bar)
    assert all(a == p or not a.valid for a, p in zip(above, plain, strict=True))
    assert not any(r.valid for r in reader.read(crops, at_least=[1.0] * len(crops)))
    with pytest.raises(ValueError, match="at_least has 1 values for 12 crops"):
        reader.read(crops, at_least=[0.5])


def _crop(ground: tuple[int, int, int], ink: int | tuple[int, int, int]) -> np.ndarray:
    """A 200x44 BGR crop of `ground` with glyph-like bars of `ink`."""
    crop = np.full((44, 200, 3), ground, np.uint8)
    for x in range(30, 190, 22):
        crop[10:34, x : x + 6] = ink
    return crop


@shipped
def test_a_yellow_ground_format_is_not_read_from_a_crop_that_plainly_is_not_yellow() -> None:
    from edge.inference.reader import OnnxPlateReader

    # `B21GSB` is a Bucharest plate and a Dutch side code 12; Dutch plates are yellow.
    reader = OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1, countries=["RO", "NL"])
    lp = spelling([{g: 1.0} for g in "B21GSB"])
    unknown = reader.decode_view(lp, view_rows=1, dark_text=True)
    white_ground = PlateGround(_crop((240, 232, 226), 20))
    white = reader.decode_view(lp, view_rows=1, dark_text=True, ground=white_ground)
    assert (unknown.country, unknown.latin) == ("NL", "B21GSB")
    assert (white.country, white.latin, white.valid) == ("RO", "B21GSB", True)


@shipped
def test_a_blue_ground_format_is_not_read_from_a_crop_that_plainly_is_not_blue() -> None:
    from edge.inference.reader import OnnxPlateReader

    # `B089414` is a Romanian temporary plate (red on white) and a Russian police plate (white on
    # blue) of region 14; the polarity of red glyphs in a red cast says nothing.
    reader = OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1, countries=["RO", "RU"])
    lp = spelling([{g: 1.0} for g in "B089414"])
    unknown = reader.decode_view(lp, view_rows=1, dark_text=False)
    warm_ground = PlateGround(_crop((200, 190, 250), (60, 40, 200)))
    warm = reader.decode_view(lp, view_rows=1, dark_text=False, ground=warm_ground)
    blue_ground = PlateGround(_crop((160, 60, 10), 240))
    police = reader.decode_view(lp, view_rows=1, dark_text=False, ground=blue_ground)
    assert (unknown.country, unknown.format) == ("RU", "police")
    assert (warm.country, warm.format, warm.latin) == ("RO", "temporary", "B089414")
    assert (police.country, police.format) == ("RU", "police")
