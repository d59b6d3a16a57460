"""The reader network, its single-file ONNX export and its INT8 quantisation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch

from common.plates.alphabet import NUM_CLASSES, READER_ALPHABET, encode
from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH, prepare_reader_batch
from models.export import export_onnx, read_metadata
from models.quantize import calibration_preprocessor, quantize_model
from models.reader.net import PlateReaderNet, count_parameters


@pytest.fixture(scope="module")
def net() -> PlateReaderNet:
    torch.manual_seed(0)
    return PlateReaderNet().eval()


def test_net_outputs_log_probabilities_per_frame(net: PlateReaderNet) -> None:
    x = torch.randn(3, 1, READER_HEIGHT, READER_WIDTH)
    with torch.no_grad():
        y = net(x)
    assert y.shape == (3, READER_WIDTH // 4, NUM_CLASSES)
    assert torch.allclose(y.exp().sum(-1), torch.ones(3, READER_WIDTH // 4), atol=1e-4)
    assert 150_000 < count_parameters(net) < 1_000_000
    assert not any(isinstance(m, torch.nn.LSTM | torch.nn.GRU) for m in net.modules())


def test_ctc_training_step_reduces_loss() -> None:
    torch.manual_seed(1)
    torch.set_num_threads(1)
    model = PlateReaderNet()
    x = torch.randn(4, 1, READER_HEIGHT, READER_WIDTH)
    targets = torch.tensor([encode("A123BC77")] * 4)
    lengths = torch.full((4,), 8, dtype=torch.long)
    frames = torch.full((4,), READER_WIDTH // 4, dtype=torch.long)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = ctc(model(x).permute(1, 0, 2), targets, frames, lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


@pytest.fixture(scope="module")
def exported(net: PlateReaderNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "reader_fp32.onnx"
    export_onnx(
        net,
        torch.zeros(1, 1, READER_HEIGHT, READER_WIDTH),
        path,
        kind="reader",
        metadata={"alphabet": READER_ALPHABET},
        output_names=("logprobs",),
    )
    return path


def test_export_is_one_file_with_metadata(exported: Path) -> None:
    assert [p.name for p in exported.parent.iterdir()] == [exported.name]
    meta = read_metadata(exported)
    assert meta["anpr_kind"] == "reader" and meta["alphabet"] == READER_ALPHABET
    assert meta["input_shape"] == f"[1, {READER_HEIGHT}, {READER_WIDTH}]"
    graph = onnx.load(str(exported)).graph
    assert not any(n.op_type == "BatchNormalization" for n in graph.node)  # folded into the convs


def test_export_matches_torch_at_any_batch_size(net: PlateReaderNet, exported: Path) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 1, READER_HEIGHT, READER_WIDTH)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = session.run(None, {"image": x})[0]
    assert np.allclose(got, expected, atol=1e-3)


def test_any_width_frees_the_width_of_an_older_file_and_changes_nothing_else(
    net: PlateReaderNet, exported: Path, tmp_path: Path
) -> None:
    """Files exported before session 27 take 160 px only; rewritten, they read any width as the
    network does (W/4 frames), and at 160 px exactly as before."""
    import onnxruntime as ort

    from models.reader.any_width import ANY_WIDTH_NOTE, main

    fixed = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    assert fixed.get_inputs()[0].shape[3] == READER_WIDTH
    rewritten = tmp_path / "reader.onnx"
    rewritten.write_bytes(exported.read_bytes())
    assert main([str(rewritten)]) == 0
    session = ort.InferenceSession(str(rewritten), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[3] == "width"
    assert read_metadata(rewritten)["input_width"] == ANY_WIDTH_NOTE
    rng = np.random.default_rng(1)
    at_160 = rng.standard_normal((2, 1, READER_HEIGHT, READER_WIDTH)).astype(np.float32)
    before, after = (s.run(None, {"image": at_160})[0] for s in (fixed, session))
    assert np.allclose(after, before, atol=1e-5)
    at_176 = rng.standard_normal((2, 1, READER_HEIGHT, 176)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(at_176)).numpy()
    got = session.run(None, {"image": at_176})[0]
    assert got.shape == (2, 44, NUM_CLASSES) and np.allclose(got, expected, atol=1e-3)
    with pytest.raises(ValueError, match="not a reader model"):
        from models.reader.any_width import any_width

        proto = onnx.load(str(exported))
        proto.graph.output[0].name = "boxes"
        any_width(proto)


def test_the_reader_export_leaves_the_width_free(net: PlateReaderNet, tmp_path: Path) -> None:
    import onnxruntime as ort

    from models.reader.any_width import ANY_WIDTH_AXES

    path = export_onnx(
        net, torch.zeros(1, 1, READER_HEIGHT, READER_WIDTH), tmp_path / "r.onnx", kind="reader",
        output_names=("logprobs",), dynamic_axes=ANY_WIDTH_AXES,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 1, READER_HEIGHT, "width"]
    x = np.zeros((3, 1, READER_HEIGHT, 200), np.float32)
    assert session.run(None, {"image": x})[0].shape == (3, 50, NUM_CLASSES)


def test_unknown_kind_is_refused(net: PlateReaderNet, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        export_onnx(net, torch.zeros(1, 1, 32, 160), tmp_path / "x.onnx", kind="classifier")  # type: ignore[arg-type]


@pytest.mark.slow
def test_int8_model_is_quantised_small_and_loads_in_both_runtimes(exported: Path, tmp_path: Path) -> None:
    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        crop = np.full((40, 180, 3), 230, np.uint8)
        cv2.putText(
            crop, f"A{rng.integers(100, 999)}BC", (5, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 3
        )
        cv2.imwrite(str(calib / f"{i}.png"), crop)
    out = quantize_model(exported, tmp_path / "reader_int8.onnx", calib)
    assert out.stat().st_size <= 0.4 * exported.stat().st_size
    model = onnx.load(str(out))
    ops = {n.op_type for n in model.graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    inits = {i.name: i for i in model.graph.initializer}
    conv_weights = [n.input[1] for n in model.graph.node if n.op_type == "Conv"]
    assert conv_weights and all(w not in inits for w in conv_weights)  # every conv weight goes through DQ
    # Activations are quantised to uint8 (OpenVINO's CPU plugin refuses int8 activations).
    activation_zero_points = [
        inits[n.input[2]]
        for n in model.graph.node
        if n.op_type == "QuantizeLinear" and n.input[0] not in inits
    ]
    assert activation_zero_points
    assert all(z.data_type == onnx.TensorProto.UINT8 for z in activation_zero_points)
    assert read_metadata(out)["anpr_kind"] == "reader"

    from edge.inference.runtimes import open_session

    x = prepare_reader_batch([cv2.imread(str(calib / "0.png"))] * 8)
    fp32 = open_session(exported, "onnxruntime").run(x)[0]
    for backend in ("onnxruntime", "openvino"):
        y = open_session(out, backend).run(x)[0]  # type: ignore[arg-type]
        assert y.shape == fp32.shape
        assert np.abs(np.exp(y) - np.exp(fp32)).max() < 0.35


def test_calibration_preprocessing_is_the_runtime_one() -> None:
    crop = np.full((30, 120, 3), 128, np.uint8)
    crop[:, ::7] = 0
    assert np.array_equal(calibration_preprocessor("reader")([crop]), prepare_reader_batch([crop]))
    with pytest.raises(ValueError, match="no calibration preprocessing"):
        calibration_preprocessor("segmenter")
