"""INT8 quantisation keeps in FP32 only what INT8 makes slower: a conv that reads a one-channel input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.quantize import quantize_model, thin_input_convs


def _two_conv_model(path: Path) -> Path:
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(size=(4, 1, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(size=(8, 4, 3, 3)).astype(np.float32), "w2")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["image", "w1"], ["c1"], name="stem", strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
            helper.make_node("Conv", ["r1", "w2"], ["out"], name="body", pads=[1, 1, 1, 1]),
        ],
        "two_convs",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 320, 416])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 8, 160, 208])],
        initializer=[w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_only_the_conv_reading_the_one_channel_input_is_kept_in_float(tmp_path: Path) -> None:
    fp32 = _two_conv_model(tmp_path / "fp32.onnx")
    assert thin_input_convs(onnx.load(str(fp32))) == ["stem"]
    calibration = tmp_path / "calib"
    calibration.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        cv2.imwrite(str(calibration / f"c{i}.png"), rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    int8 = quantize_model(fp32, tmp_path / "int8.onnx", calibration, kind="detector", limit=4)

    model = onnx.load(str(int8))
    produced_by = {out: node for node in model.graph.node for out in node.output}
    convs = {node.name: node for node in model.graph.node if node.op_type == "Conv"}
    weight_source = {name: produced_by.get(node.input[1]) for name, node in convs.items()}
    assert weight_source["stem"] is None  # a float initializer, read as it is
    assert weight_source["body"] is not None and weight_source["body"].op_type == "DequantizeLinear"
    metadata = {p.key: p.value for p in model.metadata_props}
    assert "FP32: stem" in metadata["quantization"]
