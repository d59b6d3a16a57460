"""Export a band-reader checkpoint to the shipped single-file ONNX model.

python -m models.band.export --checkpoint runs/band/main/last.pt \
    --output edge/inference/weights/band_fp32.onnx

The class list travels in the model's metadata (`classes`, JSON; "" = no band), so the edge
reads the codes from the file it loads, never from training code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from edge.inference.band_input import BAND_FRACTION, BAND_HEIGHT, BAND_WIDTH
from models.band.net import BandNet
from models.export import export_onnx
from models.paths import BAND_FP32


def load_checkpoint(path: Path) -> tuple[BandNet, dict[str, object]]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = BandNet(len(state["classes"]), int(state.get("channels", 3)))
    model.load_state_dict(state["model"])
    return model.eval(), state


def export_band(checkpoint: Path, output: Path = BAND_FP32) -> Path:
    model, state = load_checkpoint(checkpoint)
    example = torch.zeros(1, model.in_channels, BAND_HEIGHT, BAND_WIDTH)
    metadata = {
        "classes": json.dumps(list(state["classes"])),  # type: ignore[call-overload]
        "input_size": f"{BAND_HEIGHT}x{BAND_WIDTH}",
        "input_format": (
            f"left {BAND_FRACTION:.0%} of the plate crop, {'BGR' if model.in_channels == 3 else 'grey'}, "
            "per-patch standardised (edge.inference.band_input.normalise_patches)"
        ),
        "output": "log-probabilities (N, classes); class '' = no EU band",
        "training_steps": str(state.get("step", "")),
        "heldout": json.dumps(state.get("metrics", {})),
    }
    return export_onnx(
        model, example, output, kind="band", dynamic_batch=True, metadata=metadata, output_names=("logprobs",)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, default=Path("runs/band/main/last.pt"))
    parser.add_argument("--output", type=Path, default=BAND_FP32)
    args = parser.parse_args(argv)
    out = export_band(args.checkpoint, args.output)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
