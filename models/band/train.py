"""Train the band reader on synthetic patches: `python -m models.band.train [options]`.

Renders (once, cached under --data) a training and a held-out set of band patches
(models.band.data), then trains BandNet with AdamW and a cosine learning rate over --minutes of
wall-clock time on one CPU thread (the band net is tiny; a shared CPU stays usable). Each batch is
jittered (brightness, contrast, a pixel or two of shift). Checkpoints: <out>/last.pt every
--ckpt-every steps and at the end, with the held-out accuracy; --resume continues it.

    nice -n 5 python -m models.band.train --minutes 12 --out runs/band/colour
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edge.inference.band_input import normalise_patches
from models.band.data import BandSampleFactory, build_set, load_set
from models.band.net import BandNet, count_parameters
from models.synth.fonts import FontSet


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m models.band.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("runs/band/main"))
    p.add_argument("--data", type=Path, default=Path("runs/band/data"))
    p.add_argument(
        "--font-dir", default=None, help="folder with RoadNumbers2.0.ttf (default ../shared/fonts)"
    )
    p.add_argument("--data-seed", type=int, default=101)
    p.add_argument("--count", type=int, default=30_000, help="training patches")
    p.add_argument("--test-seed", type=int, default=102)
    p.add_argument("--test-count", type=int, default=3_000, help="held-out patches")
    p.add_argument("--grey", action="store_true", help="grey input instead of colour (for comparison)")
    p.add_argument("--minutes", type=float, default=12.0, help="training time (wall clock)")
    p.add_argument("--max-steps", type=int, default=None, help="also stop after this many steps")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--ckpt-every", type=int, default=500)
    p.add_argument("--resume", action="store_true")
    return p.parse_args(argv)


def jitter(patches: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-patch brightness/contrast/colour cast, sometimes permuted channels, and a shift of up to
    2 px (what a crop's framing and a camera's white balance move), uint8 in and out."""
    n = len(patches)
    x = patches.astype(np.float32)
    gain = rng.uniform(0.7, 1.3, (n, 1, 1, 1)) * rng.uniform(0.9, 1.1, (n, 1, 1, 3))
    x = (x - 128) * gain + 128 + rng.uniform(-25, 25, (n, 1, 1, 1))
    out = np.clip(x, 0, 255).astype(np.uint8)
    # Some cameras and files swap or cast colours (a blue band turns red or violet): now and then
    # permute the channels, so the band is known by its layout as much as by its blue.
    for i in np.nonzero(rng.random(n) < 0.1)[0]:
        out[i] = out[i][..., rng.permutation(3)]
    for i in np.nonzero(rng.random(n) < 0.5)[0]:
        dy, dx = (int(v) for v in rng.integers(-2, 3, 2))
        out[i] = np.roll(out[i], (dy, dx), axis=(0, 1))
    return out


def evaluate(model: BandNet, patches: np.ndarray, labels: np.ndarray, batch: int = 512) -> dict[str, float]:
    """Held-out accuracy: overall, on band plates, and how often "no band" is called a band."""
    model.eval()
    predicted = []
    with torch.no_grad():
        for i in range(0, len(patches), batch):
            x = torch.from_numpy(normalise_patches(patches[i : i + batch], model.in_channels))
            predicted.append(model(x).argmax(dim=1).numpy())
    model.train()
    pred = np.concatenate(predicted)
    band = labels != 0
    return {
        "accuracy": float((pred == labels).mean()),
        "band_accuracy": float((pred[band] == labels[band]).mean()) if band.any() else 0.0,
        "no_band_as_band": float((pred[~band] != 0).mean()) if (~band).any() else 0.0,
    }


def lr_at(progress: float, args: argparse.Namespace) -> float:
    warm = min(1.0, progress / 0.03)
    return args.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    factory = BandSampleFactory(FontSet.discover(args.font_dir))
    train_path = build_set(
        factory, args.data_seed, args.count, args.data / f"seed{args.data_seed}_{args.count}.npz"
    )
    test_path = build_set(
        factory, args.test_seed, args.test_count, args.data / f"seed{args.test_seed}_{args.test_count}.npz"
    )
    patches, labels, classes = load_set(train_path)
    test_patches, test_labels, _ = load_set(test_path)
    channels = 1 if args.grey else 3
    model = BandNet(len(classes), channels)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    ckpt = args.out / "last.pt"
    step, spent = 0, 0.0
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, spent = int(state["step"]), float(state["seconds"])
    print(
        f"band net: {count_parameters(model)} parameters, {channels} channel(s), "
        f"{len(labels)} training / {len(test_labels)} held-out patches, {len(classes)} classes",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    budget = args.minutes * 60
    started = time.perf_counter() - spent
    metrics: dict[str, float] = {}
    log = (args.out / "log.jsonl").open("a")

    def save() -> None:
        state = {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "step": step,
            "seconds": time.perf_counter() - started,
            "classes": list(classes),
            "channels": channels,
            "metrics": metrics,
            "args": {k: str(v) for k, v in vars(args).items()},
        }
        torch.save(state, ckpt.with_suffix(".tmp"))
        ckpt.with_suffix(".tmp").replace(ckpt)

    while (elapsed := time.perf_counter() - started) < budget and step < (args.max_steps or sys.maxsize):
        for group in opt.param_groups:
            group["lr"] = lr_at(elapsed / budget, args)
        idx = rng.integers(0, len(labels), args.batch)
        x = torch.from_numpy(normalise_patches(jitter(patches[idx], rng), channels))
        loss = F.nll_loss(model(x), torch.from_numpy(labels[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % args.eval_every == 0:
            metrics = evaluate(model, test_patches, test_labels)
            line = {"step": step, "seconds": round(elapsed, 1), "loss": round(loss.item(), 4), **metrics}
            print(json.dumps(line), flush=True)
            log.write(json.dumps(line) + "\n")
            log.flush()
        if step % args.ckpt_every == 0:
            save()
    metrics = evaluate(model, test_patches, test_labels)
    print(json.dumps({"step": step, "final": True, **metrics}), flush=True)
    log.write(json.dumps({"step": step, "final": True, **metrics}) + "\n")
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
