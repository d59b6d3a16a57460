"""Training can start from a shipped ONNX model: the network then computes what the file does; a
fine-tuned network can be averaged back toward the model it started from (WiSE-FT)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH
from models.export import export_onnx
from models.paths import READER_FP32
from models.reader.average import average_state
from models.reader.net import PlateReaderNet
from models.warm_start import load_folded_onnx


def _trained_like(seed: int) -> PlateReaderNet:
    """A network with non-trivial BatchNorm statistics, as after training."""
    torch.manual_seed(seed)
    net = PlateReaderNet()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def test_a_fresh_network_reproduces_an_exported_one(tmp_path: Path) -> None:
    source = _trained_like(3)
    path = export_onnx(source, torch.zeros(1, 1, READER_HEIGHT, READER_WIDTH), tmp_path / "r.onnx",
                       kind="reader", dynamic_batch=True, output_names=("logprobs",))
    sample = torch.randn(8, 1, READER_HEIGHT, READER_WIDTH)
    fresh = PlateReaderNet()
    diff = load_folded_onnx(fresh, path, sample)
    assert diff < 1e-3
    other = torch.randn(4, 1, READER_HEIGHT, READER_WIDTH)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: other.numpy()})[0]
    with torch.no_grad():
        got = fresh.eval()(other).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_in_training_mode_batchnorm_still_normalises_by_the_batch(tmp_path: Path) -> None:
    path = export_onnx(_trained_like(4), torch.zeros(1, 1, READER_HEIGHT, READER_WIDTH), tmp_path / "r.onnx",
                       kind="reader", dynamic_batch=True, output_names=("logprobs",))
    sample = torch.randn(16, 1, READER_HEIGHT, READER_WIDTH)
    fresh = PlateReaderNet()
    load_folded_onnx(fresh, path, sample)
    with torch.no_grad():
        trained_mode = fresh.train()(sample)
        eval_mode = fresh.eval()(sample)
    # On the calibration batch itself, batch statistics equal the stored ones.
    assert torch.allclose(trained_mode, eval_mode, atol=1e-3)


def test_a_file_of_another_architecture_is_refused(tmp_path: Path) -> None:
    path = export_onnx(PlateReaderNet(width=2).eval(), torch.zeros(1, 1, READER_HEIGHT, READER_WIDTH),
                       tmp_path / "wide.onnx", kind="reader", dynamic_batch=True, output_names=("logprobs",))
    with pytest.raises(ValueError, match=r"does not fit|convolutions"):
        load_folded_onnx(PlateReaderNet(), path, torch.randn(2, 1, READER_HEIGHT, READER_WIDTH))


@pytest.mark.skipif(not READER_FP32.is_file(), reason="shipped reader not present")
def test_the_shipped_reader_loads_back() -> None:
    from models.reader.export import file_network
    from models.reader.net import reader_from_settings

    sample = torch.randn(8, 1, READER_HEIGHT, READER_WIDTH)
    assert load_folded_onnx(reader_from_settings(file_network(READER_FP32)), READER_FP32, sample) < 1e-3


def test_a_detector_exported_at_a_fixed_size_is_checked_at_that_size(tmp_path: Path) -> None:
    from models.detector.net import PlateDetectorNet

    torch.manual_seed(5)
    source = PlateDetectorNet().eval()
    path = export_onnx(source, torch.zeros(1, 1, 64, 96), tmp_path / "d.onnx", kind="detector",
                       dynamic_batch=True, output_names=("heatmap", "box", "corners"))
    # Training scenes are square and smaller than the exported input: the BatchNorms calibrate on
    # them, and the comparison with the file runs at the file's own size.
    fresh = PlateDetectorNet()
    assert load_folded_onnx(fresh, path, torch.rand(4, 1, 32, 32)) < 1e-3
    frame = torch.rand(1, 1, 64, 96)
    with torch.no_grad():
        for ours, theirs in zip(fresh.eval()(frame), source(frame), strict=True):
            assert torch.allclose(ours, theirs, atol=1e-3)


def _outputs(state: dict, sample: torch.Tensor) -> torch.Tensor:
    net = PlateReaderNet()
    net.load_state_dict(state)
    with torch.no_grad():
        return net.eval()(sample)


def test_averaging_runs_the_line_from_the_starting_model_to_the_fine_tuned_one() -> None:
    start, tuned = _trained_like(1).state_dict(), _trained_like(2).state_dict()
    sample = torch.randn(2, 1, READER_HEIGHT, READER_WIDTH)
    assert torch.allclose(_outputs(average_state(start, tuned, 0.0), sample), _outputs(start, sample))
    assert torch.allclose(_outputs(average_state(start, tuned, 1.0), sample), _outputs(tuned, sample))
    middle = average_state(start, tuned, 0.5)
    for key, value in middle.items():
        if value.is_floating_point():
            assert torch.allclose(value, (start[key] + tuned[key]) / 2, atol=1e-6), key


def test_averaging_keeps_the_fine_tuned_counters_and_refuses_a_point_off_the_line() -> None:
    start, tuned = _trained_like(1).state_dict(), _trained_like(2).state_dict()
    counters = [k for k, v in tuned.items() if not v.is_floating_point()]
    assert counters  # BatchNorm's num_batches_tracked
    for key in counters:
        tuned[key] = tuned[key] + 7
    middle = average_state(start, tuned, 0.5)
    assert all(torch.equal(middle[k], tuned[k]) for k in counters)
    with pytest.raises(ValueError, match="alpha"):
        average_state(start, tuned, 1.5)
    with pytest.raises(ValueError, match="layers"):
        average_state(start, tuned | {"extra": torch.zeros(1)}, 0.5)
