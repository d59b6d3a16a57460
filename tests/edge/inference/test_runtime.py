"""Both runtimes load the same single-file ONNX model and agree on its output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edge.inference.runtime import ModelLoadError, open_session, resolve_backend


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """y = relu(x @ W): small, but a real model file."""
    weights = np.arange(12, dtype=np.float32).reshape(4, 3) - 5
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[helper.make_tensor("W", TensorProto.FLOAT, [4, 3], weights.flatten())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_backends_run_the_model(tiny_model: Path, backend: str) -> None:
    session = open_session(tiny_model, backend, threads=1)  # type: ignore[arg-type]
    x = np.array([[1, 0, 0, 0], [0, 0, 0, 2]], dtype=np.float32)
    (y,) = session.run(x)
    expected = np.maximum(x @ (np.arange(12, dtype=np.float32).reshape(4, 3) - 5), 0)
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    assert session.backend == backend
    assert session.input_name == "x"


def test_auto_picks_a_real_backend() -> None:
    assert resolve_backend("auto") in {"onnxruntime", "openvino"}


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown inference backend"):
        resolve_backend("tensorrt")  # type: ignore[arg-type]


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        open_session(tmp_path / "absent.onnx")


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_corrupt_model_file_is_a_clear_error(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelLoadError, match="cannot load"):
        open_session(path, backend)  # type: ignore[arg-type]
