"""Export a reader checkpoint to the shipped single-file ONNX model.

python -m models.reader.export --checkpoint runs/reader/main/last.pt \
    --output edge/inference/weights/reader_fp32.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from common.plates.alphabet import BLANK_INDEX, READER_ALPHABET
from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH
from models.export import export_onnx
from models.paths import READER_FP32
from models.reader.any_width import ANY_WIDTH_AXES, ANY_WIDTH_NOTE
from models.reader.net import PlateReaderNet


def load_checkpoint(path: Path) -> tuple[PlateReaderNet, dict[str, object]]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = PlateReaderNet(width=float(state.get("args", {}).get("width", 1.0)))
    model.load_state_dict(state["model"])
    return model.eval(), state


def export_reader(checkpoint: Path, output: Path = READER_FP32) -> Path:
    model, state = load_checkpoint(checkpoint)
    example = torch.zeros(1, 1, READER_HEIGHT, READER_WIDTH)
    metadata = {
        "alphabet": READER_ALPHABET,
        "blank_index": str(BLANK_INDEX),
        "input_size": f"{READER_HEIGHT}x{READER_WIDTH}",
        "input_width": ANY_WIDTH_NOTE,
        "input_format": "gray, per-image standardised (edge.inference.reader_input.normalise)",
        "output": "log-probabilities (N, T, classes); class 0 = CTC blank, class i = alphabet[i-1]",
        "two_row": "halves side by side (edge.inference.reader_input.reader_image)",
        "training_steps": str(state.get("step", "")),
        "width": str(model.width),
    }
    return export_onnx(
        model,
        example,
        output,
        kind="reader",
        dynamic_batch=True,
        metadata=metadata,
        output_names=("logprobs",),
        dynamic_axes=ANY_WIDTH_AXES,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, default=Path("runs/reader/main/last.pt"))
    parser.add_argument("--output", type=Path, default=READER_FP32)
    args = parser.parse_args(argv)
    out = export_reader(args.checkpoint, args.output)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
