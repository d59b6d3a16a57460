"""Static INT8 quantisation of a shipped ONNX model with onnxruntime.

    python -m models.quantize --input edge/inference/weights/reader_fp32.onnx \
        --output edge/inference/weights/reader_int8.onnx \
        --calibration-data DIR [--kind reader|detector] [--limit 400]

QDQ format, QUInt8 activations (OpenVINO's CPU plugin refuses QInt8 activations), per-channel
QInt8 weights with a 7-bit range (`reduce_range`): x86 CPUs without VNNI multiply u8 x s8 pairs
into int16, which saturates with full-range weights; on the reader that cost 5 points of exact
match (mostly in the 1-channel first convolution), with 7-bit weights INT8 matches FP32.
Calibration images are read from DIR (png/jpg, recursively) and fed through the SAME
preprocessing the runtime uses, looked up by model kind in CALIBRATION_PREPROCESSORS.

The detector keeps its output heads in FP32 and calibrates by percentile (see FLOAT_HEAD_KINDS
and CALIBRATION_METHODS): with every conv in INT8 and min-max ranges, its boxes agreed with the
FP32 model's at a mean IoU of 0.93 on synthetic scenes, and eu-dev lost 5 plates to boxes cut short.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import onnx

from models.export import read_metadata, set_metadata

# kind -> "module:function" taking a list of BGR uint8 images and returning the model input
# batch (N, C, H, W) float32, exactly as the edge runtime prepares it. Imported lazily.
CALIBRATION_PREPROCESSORS: dict[str, str] = {
    "reader": "models.quantize:reader_calibration_batch",
    "detector": "models.quantize:detector_calibration_batch",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
# How activation ranges are set, by model kind. "minmax" takes the extremes seen in calibration;
# "percentile" clips at the 99.999th percentile, so a few outlier activations in a calibration
# frame do not stretch the detector's quantisation steps (box IoU with FP32 0.967 -> 0.972).
CALIBRATION_METHOD_NAMES = ("minmax", "percentile")
CALIBRATION_METHODS: dict[str, str] = {"reader": "minmax", "detector": "percentile"}
CALIBRATION_PERCENTILE = 99.999


def reader_calibration_batch(images: Sequence[np.ndarray]) -> np.ndarray:
    """Reader input for calibration crops: one-row view, as the runtime reads every crop first."""
    from edge.inference.reader_input import prepare_reader_batch

    return prepare_reader_batch(images)


def detector_calibration_batch(images: Sequence[np.ndarray]) -> np.ndarray:
    """Detector input for calibration frames: the runtime's letterboxed gray input, stacked."""
    from edge.inference.detector import prepare_detector_input

    return np.concatenate([prepare_detector_input(image)[0] for image in images])


def calibration_preprocessor(kind: str) -> Callable[[Sequence[np.ndarray]], np.ndarray]:
    if kind not in CALIBRATION_PREPROCESSORS:
        raise ValueError(
            f"no calibration preprocessing for kind {kind!r}; known: {sorted(CALIBRATION_PREPROCESSORS)}"
        )
    module_name, func_name = CALIBRATION_PREPROCESSORS[kind].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def calibration_images(directory: Path, limit: int, seed: int = 0) -> list[Path]:
    if not directory.is_dir():
        raise FileNotFoundError(f"calibration folder not found: {directory}")
    paths = sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"no calibration images (png/jpg) in {directory}")
    if len(paths) > limit:
        pick = np.random.default_rng(seed).choice(len(paths), size=limit, replace=False)
        paths = [paths[i] for i in sorted(pick)]
    return paths


class _ImageReader:
    """onnxruntime CalibrationDataReader over preprocessed batches of images."""

    def __init__(
        self,
        input_name: str,
        paths: list[Path],
        preprocess: Callable[[Sequence[np.ndarray]], np.ndarray],
        batch: int = 8,
    ) -> None:
        self._batches = self._make(input_name, paths, preprocess, batch)

    @staticmethod
    def _make(
        input_name: str,
        paths: list[Path],
        preprocess: Callable[[Sequence[np.ndarray]], np.ndarray],
        batch: int,
    ) -> Iterator[dict[str, np.ndarray]]:
        for i in range(0, len(paths), batch):
            images = []
            for p in paths[i : i + batch]:
                image = cv2.imread(str(p), cv2.IMREAD_COLOR)
                if image is None:
                    raise ValueError(f"cannot read calibration image {p}")
                images.append(image)
            yield {input_name: preprocess(images)}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


FLOAT_THIN_INPUT_KINDS = frozenset({"detector"})


def thin_input_convs(model: onnx.ModelProto) -> list[str]:
    """Convolutions reading a graph input of one channel: an INT8 GEMM over 3x3x1 = 9 values per
    output is all overhead. The detector's first conv (1 -> 16 channels on 320x416) took 0.79 ms
    in INT8 against 0.12 ms in FP32 on ONNX Runtime, more than all its other convs saved."""
    inputs = {i.name for i in model.graph.input}
    weights = {w.name: w for w in model.graph.initializer}
    return [
        node.name for node in model.graph.node
        if node.op_type == "Conv" and node.input[0] in inputs and node.input[1] in weights
        and weights[node.input[1]].dims[1] == 1
    ]


FLOAT_HEAD_KINDS = frozenset({"detector"})


def output_convs(model: onnx.ModelProto) -> list[str]:
    """Convolutions that write a graph output. The detector's box and corner heads regress log
    distances: one INT8 step of their output range moves a box edge by a few percent of the plate,
    enough to cut a glyph off. In FP32 (three 1x1 convs on the stride-8 map) its boxes agree
    with the FP32 model's at a mean IoU of 0.97 instead of 0.93, for 0.17 ms more per frame on
    ONNX Runtime and none on OpenVINO (`bench/bench_detector_int8.py`, one thread)."""
    outputs = {o.name for o in model.graph.output}
    return [node.name for node in model.graph.node if node.op_type == "Conv" and node.output[0] in outputs]


def quantize_model(
    input_path: Path,
    output_path: Path,
    calibration_dir: Path,
    kind: str | None = None,
    limit: int = 400,
    batch: int = 8,
    reduce_range: bool = True,
    keep_float: Sequence[str] = (),
    method: str | None = None,
) -> Path:
    """Write the INT8 version of `input_path`; `kind` defaults to the model's anpr_kind metadata.

    Nodes named in `keep_float` stay FP32, and for the kinds in FLOAT_THIN_INPUT_KINDS the
    convolutions of `thin_input_convs` too, and for FLOAT_HEAD_KINDS those of `output_convs`.
    `method` ("minmax" or "percentile") defaults to the kind's CALIBRATION_METHODS entry.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    metadata = read_metadata(input_path)
    kind = kind or metadata.get("anpr_kind")
    if kind is None:
        raise ValueError(f"{input_path} has no anpr_kind metadata; pass --kind")
    preprocess = calibration_preprocessor(kind)
    method = method or CALIBRATION_METHODS.get(kind, "minmax")
    if method not in CALIBRATION_METHOD_NAMES:
        raise ValueError(f"unknown calibration method {method!r}; choose minmax or percentile")
    paths = calibration_images(calibration_dir, limit)
    model = onnx.load(str(input_path), load_external_data=False)
    input_name = model.graph.input[0].name
    # Not for the reader: its first conv (1 -> 32 channels on 32x160) in FP32 made the network 2 %
    # faster on ONNX Runtime and 5 % slower on OpenVINO (AVX512-VNNI CPU, batch 8, one thread).
    thin = thin_input_convs(model) if kind in FLOAT_THIN_INPUT_KINDS else []
    heads = output_convs(model) if kind in FLOAT_HEAD_KINDS else []
    excluded = sorted({*keep_float, *thin, *heads})
    extra_options: dict[str, object] = {"ActivationSymmetric": False, "WeightSymmetric": True}
    calibrate_method = CalibrationMethod.MinMax
    ranges = "min-max"
    if method == "percentile":
        calibrate_method = CalibrationMethod.Percentile
        ranges = f"{CALIBRATION_PERCENTILE}th percentile"
        extra_options["CalibPercentile"] = CALIBRATION_PERCENTILE
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(input_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(output_path),
            _ImageReader(input_name, paths, preprocess, batch),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=reduce_range,
            calibrate_method=calibrate_method,
            extra_options=extra_options,
            nodes_to_exclude=excluded,
        )
    proto = onnx.load(str(output_path), load_external_data=True)
    set_metadata(
        proto,
        metadata
        | {
            "quantization": "int8 static QDQ, QUInt8 activations, per-channel QInt8 weights"
            + (" (7-bit range)" if reduce_range else "")
            + (f"; FP32: {', '.join(excluded)}" if excluded else "")
            + f"; ranges: {ranges}",
            "calibration_images": str(len(paths)),
        },
    )
    onnx.save_model(proto, str(output_path), save_as_external_data=False)
    return output_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--calibration-data", type=Path, required=True, help="folder of calibration images")
    parser.add_argument("--kind", choices=sorted(CALIBRATION_PREPROCESSORS), default=None)
    parser.add_argument("--limit", type=int, default=400, help="at most this many calibration images")
    parser.add_argument(
        "--method", choices=CALIBRATION_METHOD_NAMES, default=None,
        help=f"activation ranges (default by kind: {CALIBRATION_METHODS})",
    )
    parser.add_argument(
        "--full-range-weights",
        action="store_true",
        help="8-bit weights (only for VNNI/AMX or non-x86 targets)",
    )
    args = parser.parse_args(argv)
    out = quantize_model(
        args.input,
        args.output,
        args.calibration_data,
        args.kind,
        args.limit,
        reduce_range=not args.full_range_weights,
        method=args.method,
    )
    fp32, int8 = args.input.stat().st_size, out.stat().st_size
    print(f"wrote {out}: {int8 / 1024:.0f} KiB ({int8 / fp32:.0%} of FP32)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
