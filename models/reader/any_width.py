"""Let reader ONNX files take any input width, weights untouched.

    python -m models.reader.any_width edge/inference/weights/reader_fp32.onnx \
        edge/inference/weights/reader_int8.onnx

The reader is convolutional along the plate (models/reader/net.py): an input W pixels wide gives
W/4 frames. It is trained and calibrated at 160 px, and the edge reads unsure crops once more
at a narrower input (edge.inference.reader, "narrow view"), so the shipped files leave the width
free.
`models.reader.export` writes new files that way; this rewrites files exported before (the INT8
file keeps its quantisation: QDQ nodes hold no shapes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import onnx

from models.export import set_metadata

# Free axes of the reader file besides the batch: the image's width and the frames it gives.
ANY_WIDTH_AXES: dict[str, dict[int, str]] = {"image": {3: "width"}, "logprobs": {1: "frames"}}
ANY_WIDTH_NOTE = "any multiple of 4 (W/4 frames); trained and calibrated at 160"


def any_width(proto: onnx.ModelProto) -> onnx.ModelProto:
    """`proto` with its input width and output frames free (in place; returned for chaining)."""
    tensors = {t.name: t for t in (*proto.graph.input, *proto.graph.output)}
    for name, axes in ANY_WIDTH_AXES.items():
        if name not in tensors:
            raise ValueError(f"not a reader model: it has no tensor {name!r}")
        dims = tensors[name].type.tensor_type.shape.dim
        for axis, label in axes.items():
            dims[axis].ClearField("dim_value")
            dims[axis].dim_param = label
    # Shapes inferred at export for intermediate tensors still name the 160 px width.
    del proto.graph.value_info[:]
    set_metadata(proto, {"input_width": ANY_WIDTH_NOTE})
    onnx.checker.check_model(proto)
    return proto


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", type=Path, nargs="+", help="reader ONNX files, rewritten in place")
    args = parser.parse_args(argv)
    for path in args.files:
        onnx.save_model(any_width(onnx.load(str(path))), str(path), save_as_external_data=False)
        print(f"{path}: input width free ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
