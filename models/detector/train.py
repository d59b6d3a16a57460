"""Train the plate detector on synthetic scenes: `python -m models.train detector [options]`.

One CPU thread by default (the machine's other core belongs to other jobs), a CUDA device
when one is present. Checkpoints go to `<out>/last.pt` every few hundred steps and `--resume`
continues from there with the same scene stream. The learning rate follows a cosine over
whichever ends first: `--steps` or `--minutes` of training time.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from models.detector.data import ScenePool
from models.detector.evaluate import evaluate_synthetic, synthetic_test_set
from models.detector.loss import detector_loss
from models.detector.net import PlateDetectorNet, count_parameters
from models.synth.scene_plates import RUSSIAN_SHARE, RenderedPlateSource
from models.synth.scenes import SceneConfig
from models.warm_start import load_folded_onnx

DEFAULT_OUT = Path("runs/detector")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train detector", description=__doc__)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="run folder (checkpoints, log)")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--minutes", type=float, default=0.0, help="training-time budget; 0 = steps only")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--scene-size", type=int, default=224, help="square training scenes, multiple of 32")
    p.add_argument("--pool", type=int, default=2000, help="pre-rendered scenes kept in memory")
    p.add_argument("--refresh", type=int, default=4, help="fresh scenes rendered per step")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--ema", type=float, default=0.998)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--font-dir", type=Path, default=None, help="folder holding RoadNumbers2.0.ttf")
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--eval-scenes", type=int, default=150)
    p.add_argument(
        "--roll-sigma", type=float, default=SceneConfig.roll_sigma_deg,
        help="in-plane tilt spread of training plates, degrees (test scenes keep the default)",
    )
    p.add_argument(
        "--max-roll", type=float, default=SceneConfig.max_roll_deg,
        help="largest in-plane tilt of a whole car and its plate, degrees",
    )
    p.add_argument(
        "--crooked-rate", type=float, default=SceneConfig.crooked_rate,
        help="share of cars whose plate is mounted crooked (tilted on a level car)",
    )
    p.add_argument(
        "--max-crooked", type=float, default=SceneConfig.max_crooked_deg,
        help="largest tilt of a crooked plate on its car, degrees",
    )
    p.add_argument(
        "--russian-share", type=float, default=RUSSIAN_SHARE,
        help="share of training plates forced Russian (test scenes keep the default)",
    )
    p.add_argument(
        "--plate-mix", choices=("registry", "europe"), default="registry",
        help="where the other plates come from (models.synth.scene_plates): every country by "
        "traffic, or the non-Russian ones by its square root",
    )
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.add_argument("--init-from", type=Path, default=None,
                   help="start from the weights of a detector FP32 ONNX file "
                   "(e.g. edge/inference/weights/detector_fp32.onnx) instead of from scratch; "
                   "ignored with --resume")
    args = p.parse_args(argv)
    if args.scene_size % 32:
        p.error("--scene-size must be a multiple of 32")
    if args.refresh > args.pool or args.batch > args.pool:
        p.error("--pool must be at least --batch and --refresh")
    return args


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class WeightAverage:
    """Exponential moving average of the weights: steadier than the raw weights after noisy steps."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for avg, cur in zip(self.model.state_dict().values(), model.state_dict().values(), strict=True):
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(cur.detach(), alpha=1 - d)
            else:
                avg.copy_(cur)


def learning_rate(args: argparse.Namespace, step: int, progress: float) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def load_model(checkpoint: str | Path, use_average: bool = True) -> PlateDetectorNet:
    """The trained network from a checkpoint (the weight average by default), in eval mode on CPU."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = PlateDetectorNet(**state.get("net_kwargs", {}))
    model.load_state_dict(state["ema"] if use_average else state["model"])
    return model.eval()


def torch_runner(model: torch.nn.Module, device: torch.device):  # type: ignore[no-untyped-def]
    @torch.no_grad()
    def run(tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = model(torch.from_numpy(tensor).to(device))
        return tuple(o.cpu().numpy() for o in out)  # type: ignore[return-value]

    return run


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    seed_everything(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    last = args.out / "last.pt"

    plates = RenderedPlateSource(args.font_dir, russian_share=args.russian_share, mix=args.plate_mix)
    cfg = SceneConfig(
        height=args.scene_size, width=args.scene_size, roll_sigma_deg=args.roll_sigma,
        max_roll_deg=args.max_roll, crooked_rate=args.crooked_rate, max_crooked_deg=args.max_crooked,
    )
    t0 = time.perf_counter()
    model = PlateDetectorNet()
    if args.init_from is not None and not args.resume:
        # The first scenes the pool will train on calibrate the re-created BatchNorms.
        calibration = ScenePool(plates, cfg, args.seed, 32, 0).batch(32)["image"]
        diff = load_folded_onnx(model, args.init_from, torch.from_numpy(calibration))
        print(f"initialised from {args.init_from} (max output difference {diff:.2g})", flush=True)
    # channels-last is ~3x faster for these small convolutions on CPU (oneDNN)
    model = model.to(device, memory_format=torch.channels_last)
    average = WeightAverage(model, args.ema)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    step, next_index, elapsed = 0, 0, 0.0
    if args.resume:
        if not last.is_file():
            print(f"--resume: no checkpoint at {last}", file=sys.stderr)
            return 2
        state = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        average.model.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        step, next_index, elapsed = state["step"], state["next_index"], state["elapsed"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step} ({elapsed / 60:.1f} min trained)")

    pool = ScenePool(plates, cfg, args.seed, args.pool, next_index)
    print(f"parameters: {count_parameters(model)}; device {device}; pool of {args.pool} scenes "
          f"rendered in {time.perf_counter() - t0:.0f} s", flush=True)
    test_scenes = synthetic_test_set(RenderedPlateSource(args.font_dir), args.eval_scenes)
    log = (args.out / "log.jsonl").open("a", encoding="utf-8")

    def save(path: Path) -> None:
        torch.save({
            "model": model.state_dict(), "ema": average.model.state_dict(),
            "optimizer": optimizer.state_dict(), "step": step, "next_index": pool.next_index,
            "elapsed": elapsed, "torch_rng": torch.get_rng_state(),
            "args": vars(args) | {"out": str(args.out)},
            "net_kwargs": {},
        }, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)

    budget = args.minutes * 60 if args.minutes > 0 else math.inf
    bar = tqdm(total=args.steps, initial=step, mininterval=20, file=sys.stdout, dynamic_ncols=False)
    running: dict[str, float] = {}
    model.train()
    while True:
        progress = max(step / args.steps, elapsed / budget)
        if progress >= 1.0:
            break
        tick = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(args, step, progress)
        batch = {k: torch.from_numpy(v).to(device) for k, v in pool.batch(args.batch).items()}
        image = batch["image"].contiguous(memory_format=torch.channels_last)
        losses = detector_loss(model(image), batch["heatmap"], batch["boxes"], batch["corners"],
                               batch["weight"])
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        average.update(model, step)
        pool.refresh(args.refresh)
        step += 1
        elapsed += time.perf_counter() - tick
        for k, v in losses.items():
            value = float(v.detach())
            running[k] = 0.98 * running.get(k, value) + 0.02 * value
        bar.update(1)
        postfix = {k: f"{v:.3f}" for k, v in running.items()}
        bar.set_postfix(postfix | {"lr": f"{optimizer.param_groups[0]['lr']:.1e}"}, refresh=False)
        if step % args.checkpoint_every == 0:
            save(last)
        if step % args.eval_every == 0:
            result = evaluate_synthetic(torch_runner(average.model, device), test_scenes, 0.3)
            record = {"step": step, "minutes": elapsed / 60, **{f"loss_{k}": v for k, v in running.items()},
                      **{f"synth_{k}": v for k, v in result.score.as_dict().items()},
                      "synth_corner_px": result.mean_corner_error_px}
            log.write(json.dumps(record) + "\n")
            log.flush()
            tqdm.write(json.dumps(record))
            save(args.out / f"step{step:06d}.pt")
    bar.close()
    save(last)
    result = evaluate_synthetic(torch_runner(average.model, device), test_scenes, 0.3)
    final = {"step": step, "minutes": elapsed / 60, "final": True,
             **{f"synth_{k}": v for k, v in result.score.as_dict().items()},
             "synth_corner_px": result.mean_corner_error_px}
    log.write(json.dumps(final) + "\n")
    log.close()
    print(json.dumps(final))
    return 0
