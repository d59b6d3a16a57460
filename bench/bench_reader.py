"""The plate reader's network time per plate, shipped files and candidates side by side.

    python bench/bench_reader.py [--runs 300] [--threads 1] [--batch 8] [--candidate FILE ...]

Times the shipped reader files (INT8 and FP32) and any `--candidate` reader files (e.g. a pruned
reader from `models.reader.prune` and its INT8 file from `models.quantize`) on ONNX Runtime and
OpenVINO, each opened as the edge opens it, on one batch of `--batch` crops at the 160 px input
width (median of interleaved runs, so every file sees the same machine load). Prints ms per plate,
each file's multiply-accumulates per plate, and its time against the shipped INT8 file on the same
runtime. The issue's budget is 0.5 ms per plate at batch 8 on one thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_detector_int8 import median_ms  # a script beside this one

from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH
from edge.inference.weights import READER_FP32, READER_INT8

RUNTIMES = ("onnxruntime", "openvino")


def macs_per_plate(path: Path) -> int:
    """Multiply-accumulates of the file's convolutions for one crop at the 160 px input width."""
    from onnx import numpy_helper, shape_inference

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, size in zip(dims, (1, 1, READER_HEIGHT, READER_WIDTH), strict=True):
        dim.ClearField("dim_param")
        dim.dim_value = size
    model = shape_inference.infer_shapes(model)
    shapes = {
        info.name: [d.dim_value for d in info.type.tensor_type.shape.dim]
        for info in [*model.graph.value_info, *model.graph.output]
    }
    weights = {init.name: numpy_helper.to_array(init).shape for init in model.graph.initializer}
    # A quantised file feeds each Conv its weights through a DequantizeLinear node.
    dequantised = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    total = 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        weight = weights[dequantised.get(node.input[1], node.input[1])]
        out = shapes[node.output[0]]
        total += int(np.prod(weight)) * out[2] * out[3]
    return total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--candidate", type=Path, nargs="*", default=[], help="more reader files to time")
    args = parser.parse_args()
    models = {"shipped INT8": READER_INT8, "shipped FP32": READER_FP32}
    for path in args.candidate:
        if not path.is_file():
            parser.error(f"no reader file at {path}")
        models[str(path)] = path
    shape = (args.batch, 1, READER_HEIGHT, READER_WIDTH)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    macs = {name: macs_per_plate(path) for name, path in models.items()}
    print(f"reader, batch {args.batch}, {args.threads} thread(s), median of {args.runs} interleaved runs")
    print(f"{'file':48s} {'runtime':12s} {'M MACs':>7s} {'ms/plate':>9s} {'x INT8':>7s}")
    for runtime in RUNTIMES:
        try:
            ms = median_ms(runtime, args.threads, x, args.runs, models)
        except Exception as exc:  # a runtime missing on this machine is reported, not fatal
            print(f"{runtime}: not timed ({exc})")
            continue
        for name, value in ms.items():
            per_plate = value / args.batch
            ratio = value / ms["shipped INT8"]
            print(f"{name[-48:]:48s} {runtime:12s} {macs[name] / 1e6:7.1f} {per_plate:9.3f} {ratio:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
