"""Runtimes are plugins picked by config: each loads the same single-file ONNX model and agrees on
its output; its settings come from the config, by name or as a mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from common.config import ConfigError, OnnxRuntimeSettings, OpenVinoSettings, parse_edge_config
from edge.inference.runtimes import RUNTIMES, ModelLoadError, open_session, resolve_runtime, runtime_class


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


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_runtimes_run_the_model(tiny_model: Path, runtime: str) -> None:
    session = open_session(tiny_model, runtime, threads=1)
    x = np.array([[1, 0, 0, 0], [0, 0, 0, 2]], dtype=np.float32)
    (y,) = session.run(x)
    expected = np.maximum(x @ (np.arange(12, dtype=np.float32).reshape(4, 3) - 5), 0)
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    assert session.runtime == runtime
    assert session.input_name == "x"


def test_every_runtime_the_config_names_has_a_plugin_with_matching_settings() -> None:
    for name, settings in (("onnxruntime", OnnxRuntimeSettings), ("openvino", OpenVinoSettings)):
        plugin = runtime_class(name)
        assert plugin.runtime == name  # type: ignore[attr-defined]
        assert settings().type == name
    assert set(RUNTIMES) == {"onnxruntime", "openvino"}


def test_openvino_settings_reach_the_compiled_model(tiny_model: Path) -> None:
    session = open_session(tiny_model, OpenVinoSettings(threads=2, performance_hint="THROUGHPUT"))
    compiled = session._compiled  # type: ignore[attr-defined]
    assert str(compiled.get_property("PERFORMANCE_HINT")) == "THROUGHPUT"
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 2


def test_an_unknown_openvino_device_is_a_clear_error(tiny_model: Path) -> None:
    with pytest.raises(ModelLoadError, match="NPU"):
        open_session(tiny_model, OpenVinoSettings(device="NPU"))


def test_auto_picks_a_real_runtime_and_keeps_its_threads() -> None:
    resolved = resolve_runtime(parse_edge_config({"detector": {"runtime": {"type": "auto", "threads": 3}}})
                               .detector.runtime)
    assert resolved.type in {"onnxruntime", "openvino"}
    assert resolved.threads == 3


def test_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown inference runtime"):
        resolve_runtime("tensorrt")
    with pytest.raises(ConfigError, match="runtime"):
        parse_edge_config({"reader": {"runtime": "tensorrt"}})


def test_runtime_is_config_by_name_by_mapping_or_in_the_older_form() -> None:
    by_name = parse_edge_config({"reader": {"runtime": "openvino"}}).reader.runtime
    assert by_name == OpenVinoSettings()
    hint = {"type": "openvino", "performance_hint": "THROUGHPUT"}
    mapping = parse_edge_config({"reader": {"runtime": hint}})
    assert mapping.reader.runtime == OpenVinoSettings(performance_hint="THROUGHPUT")
    older = parse_edge_config({"detector": {"backend": "onnxruntime", "threads": 2}}).detector.runtime
    assert older == OnnxRuntimeSettings(threads=2)
    with pytest.raises(ConfigError, match="performance_hint"):
        parse_edge_config({"reader": {"runtime": {"type": "onnxruntime", "performance_hint": "LATENCY"}}})
    with pytest.raises(ConfigError, match="runtime"):
        parse_edge_config({"reader": {"runtime": "openvino", "backend": "openvino"}})


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        open_session(tmp_path / "absent.onnx")


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_corrupt_model_file_is_a_clear_error(tmp_path: Path, runtime: str) -> None:
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelLoadError, match="cannot load"):
        open_session(path, runtime)
