"""Model versions for events, read from ONNX metadata without the onnx package."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from edge.inference.model_info import model_version, onnx_metadata


def _tiny_onnx(path: Path, metadata: dict[str, str]) -> Path:
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(model, str(path))
    return path


def test_metadata_is_read_from_the_file(tmp_path: Path) -> None:
    path = _tiny_onnx(tmp_path / "reader_int8.onnx", {"anpr_kind": "reader", "version": "2026.11.28-r3"})
    assert onnx_metadata(path) == {"anpr_kind": "reader", "version": "2026.11.28-r3"}
    assert model_version(object(), path) == "reader_int8@2026.11.28-r3"


def test_without_a_version_the_file_hash_identifies_the_model(tmp_path: Path) -> None:
    a = _tiny_onnx(tmp_path / "detector_int8.onnx", {"anpr_kind": "detector"})
    version = model_version(object(), a)
    assert version.startswith("detector_int8@sha256:") and len(version.split(":")[1]) == 12
    b = _tiny_onnx(tmp_path / "other.onnx", {"anpr_kind": "detector", "note": "retrained"})
    assert model_version(object(), b).split(":")[1] != version.split(":")[1]


def test_a_file_that_is_not_onnx_has_no_metadata(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff" * 64)
    assert onnx_metadata(junk) == {}
