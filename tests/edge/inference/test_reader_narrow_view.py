"""The reader's narrow view: unsure crops read again at a narrower input, the plate both views
find likelier kept."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from reader_spelling import spelling

from common.plates.alphabet import NUM_CLASSES
from edge.inference.reader import NARROW_VIEW_BELOW, NARROW_VIEW_WIDTH, OnnxPlateReader
from edge.inference.reader_input import READER_WIDTH
from edge.inference.runtimes import ModelLoadError
from edge.inference.weights import READER_INT8

shipped = pytest.mark.skipif(
    not READER_INT8.is_file(), reason="reader model not built yet (edge/inference/weights/reader_int8.onnx)"
)


def _spelling(first: dict[str, float], rest: str = "777XA70") -> np.ndarray:
    """A first glyph from `first` ({glyph: p}), then `rest` for sure."""
    return spelling([first] + [{g: 1.0} for g in rest])


def _crops(count: int = 2) -> list[np.ndarray]:
    """Wide, dark-on-light crops: one-row plates only, not read inverted."""
    crop = np.full((40, 180, 3), 220, np.uint8)
    for x in range(10, 170, 20):
        crop[8:32, x : x + 6] = 20
    return [crop] * count


@pytest.fixture
def reader() -> OnnxPlateReader:
    return OnnxPlateReader(READER_INT8, runtime="onnxruntime", threads=1, countries=["RU"])


def _network(
    reader: OnnxPlateReader, monkeypatch: pytest.MonkeyPatch, shipped_width: np.ndarray, other: np.ndarray
) -> list[int]:
    """Replace the network with one that reads `shipped_width` at 160 px and `other` at any other
    width; returns the list of widths it is asked to read."""
    widths: list[int] = []

    def run(images: np.ndarray) -> np.ndarray:
        widths.append(images.shape[2])
        return np.stack([shipped_width if images.shape[2] == READER_WIDTH else other] * len(images))

    monkeypatch.setattr(reader, "_run", run)
    return widths


@shipped
def test_the_shipped_reader_takes_the_narrow_view(reader: OnnxPlateReader) -> None:
    assert reader.narrow_width == NARROW_VIEW_WIDTH < READER_WIDTH
    assert reader.session.run(np.zeros((1, 1, 32, NARROW_VIEW_WIDTH), np.float32))[0].shape == (
        1, NARROW_VIEW_WIDTH // 4, NUM_CLASSES,
    )


@shipped
def test_a_sure_reading_is_not_read_again(reader: OnnxPlateReader, monkeypatch: pytest.MonkeyPatch) -> None:
    widths = _network(reader, monkeypatch, _spelling({"C": 0.97, "O": 0.03}), _spelling({"O": 1.0}))
    readings = reader.read(_crops())
    assert [r.latin for r in readings] == ["C777XA70"] * 2 and readings[0].confidence >= NARROW_VIEW_BELOW
    assert set(widths) == {READER_WIDTH}


@shipped
def test_the_plate_both_views_find_likelier_wins(
    reader: OnnxPlateReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shipped width: C 0.6, O 0.4; narrow: O 0.7, C 0.3. Together O (0.28) beats C (0.18).
    widths = _network(reader, monkeypatch, _spelling({"C": 0.6, "O": 0.4}), _spelling({"O": 0.7, "C": 0.3}))
    reading = reader.read(_crops(1))[0]
    assert widths == [READER_WIDTH, NARROW_VIEW_WIDTH]
    assert (reading.latin, reading.valid, reading.format) == ("O777XA70", True, "standard")
    assert reading.confidence == pytest.approx(math.sqrt(0.4 * 0.7), rel=5e-3)  # less the blanks' floor


@shipped
def test_a_surer_narrow_reading_that_the_shipped_width_finds_unlikely_loses(
    reader: OnnxPlateReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The narrow view alone is surer of O (0.93 against C's 0.9), but the shipped width all but
    # rules O out: neither view alone is trusted.
    _network(reader, monkeypatch, _spelling({"C": 0.9, "8": 0.1}), _spelling({"O": 0.93, "C": 0.07}))
    reading = reader.read(_crops(1))[0]
    assert (reading.latin, reading.valid) == ("C777XA70", True)
    assert reading.confidence == pytest.approx(0.9, rel=5e-3)


@shipped
def test_a_reading_that_is_no_plate_is_not_read_again(
    reader: OnnxPlateReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Most crops of a photo's false boxes read as no plate: a second view would double their cost.
    # AAAAAAAA is no plate of any Russian format, read plain or inverted.
    widths = _network(reader, monkeypatch, _spelling({"A": 1.0}, "AAAAAAA"), _spelling({"C": 1.0}))
    reading = reader.read(_crops(1))[0]
    assert not reading.valid and set(widths) == {READER_WIDTH}


@shipped
@pytest.mark.parametrize(("plate_ids", "narrow_batches"), [(None, [1]), ([0, 1], [1]), ([0, 0], [])])
def test_a_plate_that_another_view_reads_surely_is_not_read_again(
    reader: OnnxPlateReader,
    monkeypatch: pytest.MonkeyPatch,
    plate_ids: list[int] | None,
    narrow_batches: list[int],
) -> None:
    # The first crop reads surely, the second not; a still photo keeps the surest view of a plate,
    # so where both crops are views of one plate the unsure one is not worth a second look.
    sure, unsure = _spelling({"C": 0.97, "O": 0.03}), _spelling({"C": 0.6, "O": 0.4})
    batches: list[int] = []

    def run(images: np.ndarray) -> np.ndarray:
        if images.shape[2] == READER_WIDTH:
            return np.stack([sure, unsure][: len(images)])
        batches.append(len(images))
        return np.stack([unsure] * len(images))

    monkeypatch.setattr(reader, "_run", run)
    readings = reader.read(_crops(2), plate_ids=plate_ids)
    assert [r.latin for r in readings] == ["C777XA70"] * 2
    assert batches == narrow_batches


@shipped
def test_a_model_file_of_fixed_width_is_read_at_that_width_only(tmp_path) -> None:
    proto = onnx.load(str(READER_INT8))
    proto.graph.input[0].type.tensor_type.shape.dim[3].dim_value = READER_WIDTH
    proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value = READER_WIDTH // 4
    fixed = tmp_path / "reader_160.onnx"
    onnx.save(proto, str(fixed))
    reader = OnnxPlateReader(fixed, runtime="onnxruntime", countries=["RU"])
    assert reader.narrow_width is None
    assert len(reader.read(_crops(1))) == 1
    proto.graph.input[0].type.tensor_type.shape.dim[3].dim_value = 128
    proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 32
    onnx.save(proto, str(fixed))
    with pytest.raises(ModelLoadError, match="or any width"):
        OnnxPlateReader(fixed, runtime="onnxruntime")


@shipped
def test_the_narrow_view_reads_more_plates() -> None:
    """Georgian plates, where it gains most of the 49 countries' evaluation crops (488 against 481
    of 500 on an AVX-512 VNNI machine; every country together 23,936 against 23,896 of 24,500)."""
    from common.config import ReaderConfig
    from edge.inference.models import READERS
    from models.evaluate import synthetic_country_crops

    samples = synthetic_country_crops("GE", 500)
    # As the edge builds it (the band reader on), every country on.
    config = ReaderConfig(path=READER_INT8, runtime="onnxruntime")
    both, shipped_only = READERS["onnx"](config), READERS["onnx"](config)
    assert isinstance(both, OnnxPlateReader) and isinstance(shipped_only, OnnxPlateReader)
    shipped_only.narrow_width = None

    def right(reader: OnnxPlateReader) -> int:
        readings = reader.read([s.crop for s in samples])
        return sum(r.latin == s.text for r, s in zip(readings, samples, strict=True))

    counts = right(both), right(shipped_only)
    assert counts[0] >= counts[1] + 4, counts
