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
from models.export import export_onnx, read_metadata
from models.paths import READER_FP32
from models.reader.any_width import ANY_WIDTH_AXES, ANY_WIDTH_NOTE
from models.reader.net import PlateReaderNet, format_layout, reader_from_settings


def load_checkpoint(path: Path) -> tuple[PlateReaderNet, dict[str, object]]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = reader_from_settings(state.get("args", {}))
    model.load_state_dict(state["model"])
    return model.eval(), state


def export_reader(checkpoint: Path, output: Path = READER_FP32) -> Path:
    model, state = load_checkpoint(checkpoint)
    return export_network(model, output, training_steps=str(state.get("step", "")))


def export_network(model: PlateReaderNet, output: Path, training_steps: str = "") -> Path:
    """Write `model` as a reader ONNX file with the metadata the runtime and training read back."""
    example = torch.zeros(1, 1, READER_HEIGHT, READER_WIDTH)
    metadata = {
        "alphabet": READER_ALPHABET,
        "blank_index": str(BLANK_INDEX),
        "input_size": f"{READER_HEIGHT}x{READER_WIDTH}",
        "input_width": ANY_WIDTH_NOTE,
        "input_format": "gray, per-image standardised (edge.inference.reader_input.normalise)",
        "output": "log-probabilities (N, T, classes); class 0 = CTC blank, class i = alphabet[i-1]",
        "two_row": "halves side by side (edge.inference.reader_input.reader_image)",
        "training_steps": training_steps,
        "width": str(model.width),
        "layout": format_layout(model.layout),
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


def file_network(path: Path) -> dict[str, object]:
    """The width multiplier and, for a pruned reader, the layout a reader ONNX file was exported
    with (its metadata)."""
    metadata = read_metadata(path)
    return {"width": float(metadata.get("width", 1.0)), "layout": metadata.get("layout")}


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
