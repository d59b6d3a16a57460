"""A fine-tuned reader averaged with the reader it started from (WiSE-FT, Wortsman et al. 2022).

    python -m models.reader.average --checkpoint runs/reader/eu6/last.pt --alpha 0.5 \
        --output runs/reader/eu6/wise50.pt
    python -m models.reader.export --checkpoint runs/reader/eu6/wise50.pt --output /tmp/wise50.onnx

Every weight moves `alpha` of the way from the starting model (the FP32 ONNX file the run's
`--init-from` named) to the fine-tuned checkpoint; the result is a checkpoint `export` takes.
A fine-tune on a narrow mix forgets some of what the starting model knew; a point between the
two can beat both on what the fine-tune aimed at (session 22: 28 countries at 98 % halfway,
against 21 for the start and 22 for the fine-tune), though not on real plates its data does not
teach (`MODEL_CARD.md`, "Session 22").

The starting weights are loaded exactly as training loaded them (`load_folded_onnx` on the first
256 crops of the run's held-out shard), so both ends of the line share one parameterisation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from edge.inference.reader_input import normalise
from models.reader.cache import CacheSpec, build_cache, load_shards
from models.reader.net import PlateReaderNet, reader_from_settings
from models.warm_start import load_folded_onnx


def average_state(start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], alpha: float) -> dict:
    """Each floating-point tensor `alpha` of the way from `start` to `tuned`; counters from `tuned`."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be within [0, 1]")
    if start.keys() != tuned.keys():
        raise ValueError("the two models have different layers")
    return {
        key: torch.lerp(start[key].float(), value.float(), alpha).to(value.dtype)
        if value.is_floating_point()
        else value
        for key, value in tuned.items()
    }


def starting_model(checkpoint: dict, init_from: Path, cache: Path) -> PlateReaderNet:
    """The network training started from: `init_from` loaded on the run's own held-out crops."""
    args = checkpoint["args"]
    spec = CacheSpec(
        seed=args["test_seed"],
        count=args["test_count"],
        font_dir=args.get("font_dir"),
        shard_size=args["test_count"],
    )
    images = load_shards(build_cache(spec, cache, progress=False))[0]
    model = reader_from_settings(args)
    load_folded_onnx(model, init_from, torch.from_numpy(normalise(images[:256])))
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="the fine-tuned run's checkpoint")
    parser.add_argument("--alpha", type=float, default=0.5, help="0: the starting model, 1: the checkpoint")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="the starting FP32 ONNX file (default: the run's own --init-from)",
    )
    parser.add_argument("--cache", type=Path, default=None, help="shard folder (default: the run's own)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    run = state["args"]
    init_from = args.init_from or (Path(run["init_from"]) if run.get("init_from") else None)
    if init_from is None:
        parser.error("the run did not start from an ONNX file; pass --init-from")
    start = starting_model(state, init_from, args.cache or Path(run["cache"]))
    averaged = average_state(start.state_dict(), state["model"], args.alpha)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": averaged, "args": run, "step": state.get("step"), "alpha": args.alpha}, args.output)
    print(f"wrote {args.output}: {args.alpha:.2f} of the way from {init_from} to {args.checkpoint}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
