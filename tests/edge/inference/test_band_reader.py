"""The band reader: the EU band's code on a plate crop settles the country the text cannot."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from common.config import ReaderConfig
from common.plates.decode import PlateSearch, decode_plate, search_plates
from common.plates.registry import load_registry
from common.plates.simulate import synthetic_emissions
from edge.inference.band_input import BAND_HEIGHT, BAND_WIDTH, NO_BAND, band_patch, normalise_patches
from edge.inference.band_reader import CropPriors, OnnxBandReader, best_per_plate, combine_priors
from edge.inference.runtimes import ModelLoadError
from edge.inference.weights import BAND_FP32, READER_INT8

REGISTRY = load_registry()

shipped = pytest.mark.skipif(not BAND_FP32.is_file(), reason="band model not built (models/band)")
needs_font = pytest.mark.plate_font


def _plate_crop(key: str, text: str, seed: int, plate_px: int = 220, hyphens: bool = True) -> np.ndarray:
    """A clean rendered plate of registry format `key`, its band printed with the registry's code,
    in a holder frame, cut as a detector box with a few % of margin; `hyphens=False` draws blank
    gaps where the format prints hyphens."""
    from models.synth.fonts import FontSet
    from models.synth.frame import add_holder_frame
    from models.synth.plate_render import PLATE_STYLES, render_plate

    style = PLATE_STYLES[key]
    if not hyphens:
        style = replace(style, look=replace(style.look, gaps=("space",)))
    rng = np.random.default_rng(seed)
    px_per_mm = plate_px / style.size_mm[0]
    plate = render_plate(style, text, FontSet.discover(), rng, px_per_mm=px_per_mm)
    framed, corners = add_holder_frame(plate, FontSet.discover(), rng, px_per_mm=px_per_mm)
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    mx, my = 0.03 * (x1 - x0), 0.08 * (y1 - y0)
    h, w = framed.shape[:2]
    top, bottom = max(0, int(y0 - my)), min(h, int(y1 + my))
    left, right = max(0, int(x0 - mx)), min(w, int(x1 + mx))
    return np.ascontiguousarray(framed[top:bottom, left:right])


@pytest.fixture(scope="module")
def band() -> OnnxBandReader:
    return OnnxBandReader(BAND_FP32, runtime="onnxruntime", threads=1)


# --- input and priors ------------------------------------------------------------------------------


def test_patch_is_the_left_end_of_the_crop_in_colour() -> None:
    crop = np.full((40, 200, 3), 230, np.uint8)
    crop[:, :16] = (150, 60, 10)  # a blue band at the left
    patch = band_patch(crop)
    assert patch.shape == (BAND_HEIGHT, BAND_WIDTH, 3)
    assert patch[:, : BAND_WIDTH // 3, 0].mean() > 140 and patch[:, : BAND_WIDTH // 3, 2].mean() < 20
    x = normalise_patches(patch[None])
    assert x.shape == (1, 3, BAND_HEIGHT, BAND_WIDTH) and abs(float(x.mean())) < 1e-4
    assert normalise_patches(patch[None], channels=1).shape == (1, 1, BAND_HEIGHT, BAND_WIDTH)
    with pytest.raises(ValueError, match="uint8"):
        band_patch(crop.astype(np.float32))


def test_a_band_multiplies_its_country_prior_and_nothing_else() -> None:
    assert combine_priors(None, None, 1000.0) is None
    assert combine_priors({"RU": 5.0}, None, 1000.0) == {"RU": 5.0}
    assert combine_priors({"RU": 5.0, "FR": 2.0}, "FR", 1000.0) == {"RU": 5.0, "FR": 2000.0}
    assert combine_priors(None, "PL", 10.0) == {"PL": 10.0}


def test_config_is_validated_and_on_by_default() -> None:
    config = ReaderConfig()
    assert config.band.enabled and 0 < config.band.min_confidence <= 1 and config.band.boost >= 1
    assert not ReaderConfig.model_validate({"band": {"enabled": False}}).band.enabled
    with pytest.raises(ValueError):
        ReaderConfig.model_validate({"band": {"min_confidence": 1.5}})
    with pytest.raises(ValueError):
        ReaderConfig.model_validate({"band": {"boost": 0.5}})
    with pytest.raises(ValueError):
        ReaderConfig.model_validate({"band": {"colour": True}})


def test_a_model_without_band_classes_is_refused(tmp_path: Path) -> None:
    import onnx

    model = onnx.load(str(BAND_FP32)) if BAND_FP32.is_file() else None
    if model is None:
        pytest.skip("band model not built")
    del model.metadata_props[:]
    path = tmp_path / "no_classes.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelLoadError, match="no `classes`"):
        OnnxBandReader(path, runtime="onnxruntime")
    entry = model.metadata_props.add()
    entry.key, entry.value = "classes", json.dumps(["", "ZZ"] + ["X"] * 28)
    onnx.save(model, str(path))
    with pytest.raises(ModelLoadError, match="no country with band code 'ZZ'"):
        OnnxBandReader(path, runtime="onnxruntime")


# --- the shipped model on rendered plates ----------------------------------------------------------


@shipped
@needs_font
@pytest.mark.parametrize(
    ("key", "text", "code"),
    [
        ("FR/siv", "AB123CD", "F"),
        ("PL/standard_3d2l", "SK440AY", "PL"),
        ("DE/standard", "BMA1234", "D"),
        ("RO/standard", "B12DFG", "RO"),
    ],
)
def test_the_band_code_of_eu_plates_is_read(band: OnnxBandReader, key: str, text: str, code: str) -> None:
    # Six renderings (fonts, colours, frames vary with the seed) of a 300 px plate: the model is
    # small and the code a few pixels tall, so one in six may be missed, never most.
    readings = band.read([_plate_crop(key, text, seed, plate_px=300) for seed in range(6)])
    right = [r for r in readings if r.code == code]
    assert len(right) >= 5, [(r.code, round(r.confidence, 3)) for r in readings]
    assert all(r.country == REGISTRY.country_for_band(code) for r in right)


@shipped
@needs_font
def test_a_band_is_read_in_a_box_that_runs_wide_on_the_left(band: OnnxBandReader) -> None:
    """A detector box a fifth of the plate wider on the left (car body there) pushes the band out
    of the left-end patch the model learnt; the patch a little further in still shows it."""
    crops = []
    for seed in range(6):
        crop = _plate_crop("PL/standard_3d2l", "SK440AY", seed, plate_px=300)
        body = np.full((crop.shape[0], round(0.2 * crop.shape[1]), 3), (60, 70, 80), np.uint8)
        crops.append(np.hstack([body, crop]))
    readings = band.read(crops)
    assert sum(r.code == "PL" for r in readings) >= 5, [(r.code, round(r.confidence, 3)) for r in readings]
    patches = normalise_patches(np.stack([band_patch(c) for c in crops]), band.channels)
    only_left_end = band.session.run(patches)[0]
    assert sum(band.classes[int(k)] == "PL" for k in only_left_end.argmax(axis=1)) <= 1


@shipped
@needs_font
def test_a_russian_plate_has_no_band(band: OnnxBandReader) -> None:
    readings = band.read([_plate_crop("RU/standard", "A123BC77", seed, plate_px=300) for seed in range(6)])
    assert all(r.code == NO_BAND and r.country is None for r in readings)
    assert band.priors_for([_plate_crop("RU/standard", "A123BC77", 0)], {"RU": 3.0}) == [{"RU": 3.0}]


@shipped
@needs_font
def test_an_f_band_makes_an_ambiguous_string_french(band: OnnxBandReader) -> None:
    logprobs = synthetic_emissions("AB123CD", np.random.default_rng(16))
    assert decode_plate(logprobs)[0].country == "IT"  # the text alone: Italy has more cars
    (priors,) = band.priors_for([_plate_crop("FR/siv", "AB123CD", 1, plate_px=300)])
    french = decode_plate(logprobs, priors=priors)[0]
    assert (french.country, french.format) == ("FR", "siv")


@shipped
@needs_font
@pytest.mark.skipif(not READER_INT8.is_file(), reason="reader model not built")
def test_the_reader_uses_the_band_and_config_off_reads_as_before() -> None:
    from edge.inference.models import load_models
    from edge.inference.reader import OnnxPlateReader

    # A crop whose band the model reads as F for sure (its F -> P slips are measured above),
    # drawn without hyphens, which would tell the country without the band.
    crop = _plate_crop("FR/siv", "AB123CD", 7, plate_px=300, hyphens=False)
    on = load_models(_detector_config(), ReaderConfig()).reader
    off = load_models(_detector_config(), ReaderConfig.model_validate({"band": {"enabled": False}})).reader
    assert isinstance(on, OnnxPlateReader) and isinstance(off, OnnxPlateReader)
    assert on.band_reader is not None and off.band_reader is None
    with_band, without = on.read([crop])[0], off.read([crop])[0]
    assert with_band.latin == without.latin == "AB123CD"
    assert (with_band.country, without.country) == ("FR", "IT")
    plain = OnnxPlateReader(READER_INT8, runtime="auto")  # how the reader read before band reading
    assert plain.read([crop]) == off.read([crop])


@needs_font
@pytest.mark.skipif(not READER_INT8.is_file(), reason="reader model not built")
def test_without_a_band_the_hyphens_make_an_ambiguous_string_french() -> None:
    from edge.inference.reader import OnnxPlateReader

    reader = OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1)
    for seed in (3, 7, 11):
        crops = [
            _plate_crop("FR/siv", "AB123CD", seed, plate_px=300),
            _plate_crop("IT/standard", "AB123CD", seed, plate_px=300),
            _plate_crop("FR/siv", "AB123CD", seed, plate_px=300, hyphens=False),
        ]
        readings = reader.read(crops)  # a reader without the band model: the hyphens alone decide
        assert [(r.latin, r.country) for r in readings] == [("AB123CD", c) for c in ("FR", "IT", "IT")]


def _detector_config():  # type: ignore[no-untyped-def]
    from common.config import DetectorConfig

    return DetectorConfig()


def test_views_of_one_plate_share_the_codes_read_on_any_of_them() -> None:
    probabilities = np.array([
        [0.9, 0.1, 0.0],  # plate 0, the box view: the band cut off
        [0.2, 0.0, 0.8],  # plate 0, the wide view: the band's code
        [0.3, 0.7, 0.0],  # plate 1, one view only
    ])
    merged = best_per_plate(probabilities, [0, 0, 1])
    np.testing.assert_array_equal(merged[0], [0.9, 0.1, 0.8])
    np.testing.assert_array_equal(merged[1], merged[0])
    np.testing.assert_array_equal(merged[2], probabilities[2])
    with pytest.raises(ValueError, match="plate_ids has 2 values for 3 crops"):
        best_per_plate(probabilities, [0, 0])


@shipped
@needs_font
def test_an_f_band_read_on_one_view_makes_every_view_of_the_plate_french(band: OnnxBandReader) -> None:
    with_band = _plate_crop("FR/siv", "AB123CD", 1, plate_px=300)
    cut_off = with_band[:, with_band.shape[1] // 4 :]  # a box that starts past the band
    alone = band.priors_for([cut_off, with_band])
    assert alone[0] is None or alone[0].get("FR", 1.0) == 1.0  # nothing seen on the cut view
    shared = band.priors_for([cut_off, with_band], plate_ids=[0, 0])
    assert shared[0] == shared[1] and shared[0] is not None and shared[0]["FR"] > 100
    apart = band.priors_for([cut_off, with_band], plate_ids=[0, 1])
    assert apart == alone


@shipped
@needs_font
def test_crop_priors_read_bands_only_where_a_search_found_a_plate_and_agree_with_priors_for(
    band: OnnxBandReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_band = _plate_crop("FR/siv", "AB123CD", 1, plate_px=300)
    cut_off = with_band[:, with_band.shape[1] // 4 :]
    crops = [cut_off, with_band, _plate_crop("RU/standard", "A123BC77", 0)]
    plate_ids, device = [0, 0, 1], {"RU": 3.0}
    whole_call = band.priors_for(crops, device, plate_ids)
    batches: list[int] = []
    probabilities = band.probabilities
    monkeypatch.setattr(band, "probabilities", lambda cs: (batches.append(len(cs)), probabilities(cs))[1])
    logprobs = synthetic_emissions("AB123CD", np.random.default_rng(0))
    found, nothing = search_plates(logprobs), PlateSearch.not_run(logprobs)
    priors = CropPriors(band, crops, device, plate_ids)
    assert priors.for_search(2, nothing) == device and batches == []  # nothing to rank: no band read
    priors.need([0])
    assert batches == [2]  # both views of plate 0, in one batch
    assert priors.for_search(0, found) == priors.for_search(1, found) == whole_call[0]
    assert whole_call[0] is not None and whole_call[0]["FR"] > 100  # the band seen on the other view
    assert batches == [2]
    assert priors.for_search(2, found) == whole_call[2] and batches == [2, 1]  # read when first asked
    assert CropPriors(None, crops, device).for_search(1, found) == device
