"""INT8 quantisation keeps in FP32 only what INT8 makes slower or too coarse: a conv that reads a
one-channel input, and the detector's output heads (their box regression needs finer steps)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from models.quantize import output_convs, quantize_model, thin_input_convs


def _three_conv_model(path: Path) -> Path:
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(size=(4, 1, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(size=(8, 4, 3, 3)).astype(np.float32), "w2")
    w3 = numpy_helper.from_array(rng.normal(size=(4, 8, 1, 1)).astype(np.float32), "w3")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["image", "w1"], ["c1"], name="stem", strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
            helper.make_node("Conv", ["r1", "w2"], ["c2"], name="body", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
            helper.make_node("Conv", ["r2", "w3"], ["box"], name="head"),
        ],
        "three_convs",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 320, 416])],
        [helper.make_tensor_value_info("box", TensorProto.FLOAT, ["batch", 4, 160, 208])],
        initializer=[w1, w2, w3],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _calibration_folder(path: Path) -> Path:
    path.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        cv2.imwrite(str(path / f"c{i}.png"), rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    return path


def test_the_detector_keeps_its_one_channel_input_conv_and_output_heads_in_float(tmp_path: Path) -> None:
    fp32 = _three_conv_model(tmp_path / "fp32.onnx")
    assert thin_input_convs(onnx.load(str(fp32))) == ["stem"]
    assert output_convs(onnx.load(str(fp32))) == ["head"]
    calibration = _calibration_folder(tmp_path / "calib")
    int8 = quantize_model(fp32, tmp_path / "int8.onnx", calibration, kind="detector", limit=4)

    model = onnx.load(str(int8))
    produced_by = {out: node for node in model.graph.node for out in node.output}
    convs = {node.name: node for node in model.graph.node if node.op_type == "Conv"}
    weight_source = {name: produced_by.get(node.input[1]) for name, node in convs.items()}
    assert weight_source["stem"] is None  # a float initializer, read as it is
    assert weight_source["head"] is None
    assert weight_source["body"] is not None and weight_source["body"].op_type == "DequantizeLinear"
    metadata = {p.key: p.value for p in model.metadata_props}
    assert "FP32: head, stem" in metadata["quantization"]
    assert "percentile" in metadata["quantization"]


def test_the_calibration_method_can_be_chosen_and_is_recorded(tmp_path: Path) -> None:
    fp32 = _three_conv_model(tmp_path / "fp32.onnx")
    calibration = _calibration_folder(tmp_path / "calib")
    int8 = quantize_model(fp32, tmp_path / "i8.onnx", calibration, kind="detector", limit=4, method="minmax")
    metadata = {p.key: p.value for p in onnx.load(str(int8)).metadata_props}
    assert metadata["quantization"].endswith("ranges: min-max")
    with pytest.raises(ValueError, match="unknown calibration method 'entropy'"):
        quantize_model(fp32, tmp_path / "x.onnx", calibration, kind="detector", limit=4, method="entropy")
