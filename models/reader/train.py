"""Train the plate reader on pre-rendered synthetic crops: `python -m models.train ocr [options]`.

Recipe: AdamW, one-cycle (warm-up + cosine) learning rate, CTC loss, batch 64, gray 32x160.
Samples come from the shard cache (`models.reader.cache`), held on the training device and drawn
at random; shards that appear while training runs (a renderer working in parallel) are picked up
within `--refresh-every` steps. A CUDA GPU is used when torch sees one
(`models/reader/gpu_burst.sh` renders and trains on a lent GPU machine). The schedule runs over
`--steps`, or over wall-clock `--minutes` when given (useful on a shared CPU).
Checkpoints: <out>/last.pt every `--ckpt-every` steps and at the end; `--resume` continues it.
`--keep-every N` also keeps <out>/step<N>.pt, so a fine-tune can be judged on real photos at
several points and the best one shipped (a later step is not always better on real plates).
`--distill-from` holds a fine-tune close to a reader that already reads real plates well: besides
the CTC loss, each frame's glyph distribution is pulled toward that reader's on the same crop
(KL divergence, weighted by `--distill-weight`). It holds the reader on synthetic crops; real
typefaces can still drift (models/MODEL_CARD.md, "Session 24").
`--bf16` runs the forward and backward passes in bfloat16 autocast, for CPUs (AMX, AVX-512 BF16)
and GPUs that compute in it: batch 256 on two threads of an AMX Xeon takes 0.29-0.33 s a step
against 0.77-0.81 s; an AVX-512 BF16 EPYC without AMX gives 1.7x the steps a second.
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
from torch import nn

from edge.inference.reader_input import normalise
from models.reader.batches import ShardPool, jitter, normalise_tensor
from models.reader.cache import SHARD_SIZE, CacheSpec, build_cache, load_shards
from models.reader.export import file_network
from models.reader.metrics import greedy_texts, score_texts
from models.reader.net import count_parameters, reader_from_settings
from models.synth.ocr_samples import MIXES
from models.warm_start import load_folded_onnx


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m models.train ocr",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("runs/reader/main"))
    p.add_argument("--cache", type=Path, default=Path("runs/reader/cache"))
    p.add_argument(
        "--font-dir", default=None, help="folder with RoadNumbers2.0.ttf (default ../shared/fonts)"
    )
    p.add_argument("--data-seed", type=int, default=1, help="render seed of the training shards")
    p.add_argument("--count", type=int, default=96_000, help="training samples to render if missing")
    p.add_argument(
        "--extra-seeds", type=int, nargs="*", default=[], help="more shard seeds to use when present"
    )
    p.add_argument(
        "--mix", default="registry", choices=MIXES,
        help="format mix of training shards it renders itself (models.synth.ocr_samples.mix_weights); "
        "the held-out test set is always the registry mix",
    )
    p.add_argument("--test-seed", type=int, default=2)
    p.add_argument("--test-count", type=int, default=2000)
    p.add_argument("--render-workers", type=int, default=1)
    p.add_argument(
        "--min-shards", type=int, default=24,
        help="start once this many training shards exist (rendering only those if missing)",
    )
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument(
        "--minutes", type=float, default=None, help="schedule over wall-clock time instead of steps"
    )
    p.add_argument("--batch", type=int, default=64)
    p.add_argument(
        "--width", type=float, default=None,
        help="channel width multiplier of the network (1: 342k parameters, 2: 1.36 M, the shipped "
        "reader); default: that of --init-from's file, else 1 (a resumed run keeps its own)",
    )
    p.add_argument(
        "--augment", action="store_true",
        help="jitter framing and add noise to each batch (for pools seen many times, e.g. on a GPU)",
    )
    p.add_argument(
        "--wait-for-shards", action="store_true",
        help="wait for a renderer beside training to write --min-shards shards instead of rendering them",
    )
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--refresh-every", type=int, default=200, help="look for new shards this often (steps)")
    p.add_argument("--ckpt-every", type=int, default=200)
    p.add_argument(
        "--keep-every", type=int, default=0,
        help="also keep step<N>.pt every this many steps (0: only last.pt)",
    )
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start from the weights of a reader FP32 ONNX file "
        "(e.g. edge/inference/weights/reader_fp32.onnx) "
        "instead of from scratch; ignored when resuming",
    )
    p.add_argument(
        "--distill-from",
        type=Path,
        default=None,
        help="a reader FP32 ONNX file whose per-frame glyph distributions the student is also "
        "pulled toward (e.g. the shipped reader, to fine-tune without forgetting what it reads)",
    )
    p.add_argument("--distill-weight", type=float, default=1.0, help="weight of that KL term beside CTC")
    p.add_argument(
        "--bf16", action="store_true",
        help="run the network's arithmetic in bfloat16 (autocast; weights, optimiser and loss stay "
        "float32): 2-3x the steps a second on CPUs with AMX, 1.7x with AVX-512 BF16 (measured); "
        "unmeasured on CPUs without bfloat16 arithmetic, where it may well be slower",
    )
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def _shard_paths(args: argparse.Namespace) -> list[Path]:
    """Complete training shards on disk: the main seed first, then any extra seeds' shards."""
    paths = sorted(args.cache.glob(f"seed{args.data_seed}_*.npz"))
    for seed in args.extra_seeds:
        paths += sorted(args.cache.glob(f"seed{seed}_*.npz"))
    return [p for p in paths if not p.name.endswith(".tmp.npz")]


def lr_at(progress: float, step: int, args: argparse.Namespace) -> float:
    warm = min(1.0, (step + 1) / max(1, args.warmup))
    return args.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def evaluate(
    model: nn.Module, images: np.ndarray, texts: list[str], device: torch.device, batch: int = 256
) -> dict[str, float]:
    model.eval()
    predicted: list[str] = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(normalise(images[i : i + batch])).to(device)
            predicted += greedy_texts(model(x).cpu().numpy())
    model.train()
    return score_texts(predicted, texts)


def frame_kl(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean over frames of KL(teacher || student), both (N, T, C) log-probabilities."""
    return (teacher.exp() * (teacher - student)).sum(-1).mean()


def load_teacher(path: Path, sample: torch.Tensor, device: torch.device) -> nn.Module:
    """The frozen reader of `path` (FP32 ONNX), in eval mode on `device`."""
    teacher = reader_from_settings(file_network(path))
    load_folded_onnx(teacher, path, sample)
    teacher = teacher.to(device).eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher


def _label_texts(labels: np.ndarray, lengths: np.ndarray) -> list[str]:
    from common.plates.alphabet import decode

    return [decode(list(row[:n])) for row, n in zip(labels, lengths, strict=True)]


def network_settings(args: argparse.Namespace) -> dict[str, object]:
    """The network to build, as width and layout: the resumed run's, else --width's, else
    --init-from's file's (a pruned file keeps its layout), else width 1."""
    ckpt = args.out / "last.pt"
    if args.resume and ckpt.exists():
        saved = torch.load(ckpt, map_location="cpu", weights_only=False).get("args", {})
        return {"width": float(saved.get("width") or 1.0), "layout": saved.get("layout")}
    if args.width is not None:
        return {"width": args.width, "layout": None}
    if args.init_from is not None:
        return file_network(args.init_from)
    return {"width": 1.0, "layout": None}


def _wait_for_shards(args: argparse.Namespace) -> None:
    """Block until a renderer beside training has written `--min-shards` training shards."""
    while len(_shard_paths(args)) < args.min_shards:
        print(f"waiting for {args.min_shards} shards of seed {args.data_seed} in {args.cache}", flush=True)
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "log.jsonl"

    test_paths = build_cache(
        CacheSpec(
            seed=args.test_seed, count=args.test_count, font_dir=args.font_dir, shard_size=args.test_count
        ),
        args.cache,
        workers=1,
        progress=not args.no_progress,
    )
    test_images, test_labels, test_lengths, _ = load_shards(test_paths)
    test_texts = _label_texts(test_labels, test_lengths)
    if args.wait_for_shards:
        _wait_for_shards(args)
    elif len(_shard_paths(args)) < args.min_shards:
        # Only the shards training needs to start: a renderer running beside it (`models.reader.
        # cache`, same seed) supplies the rest, which training picks up as they land.
        needed = min(args.count, args.min_shards * SHARD_SIZE)
        spec = CacheSpec(seed=args.data_seed, count=needed, font_dir=args.font_dir, mix=args.mix)
        build_cache(spec, args.cache, workers=args.render_workers, progress=not args.no_progress)

    network = network_settings(args)
    args.width, args.layout = network["width"], network["layout"]
    model = reader_from_settings(network)
    if args.init_from is not None and not (args.resume and (args.out / "last.pt").exists()):
        sample = torch.from_numpy(normalise(test_images[:256]))
        diff = load_folded_onnx(model, args.init_from, sample)
        print(f"initialised from {args.init_from} (max output difference {diff:.2g})", flush=True)
    model = model.to(device)
    teacher = None
    if args.distill_from is not None:
        teacher = load_teacher(args.distill_from, torch.from_numpy(normalise(test_images[:256])), device)
        print(f"distilling from {args.distill_from} (weight {args.distill_weight})", flush=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    step, elapsed_before = 0, 0.0
    ckpt_path = args.out / "last.pt"
    if args.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed_before = state["step"], state["elapsed"]
        print(f"resumed from {ckpt_path} at step {step}", flush=True)
    generator = torch.Generator(device=device)
    generator.manual_seed(args.seed * 1_000_003 + step)
    print(
        f"reader: {count_parameters(model)} parameters (width {args.width}"
        f"{f', layout {args.layout}' if args.layout else ''}), device {device}, "
        f"{args.threads} thread(s){', bfloat16' if args.bf16 else ''}",
        flush=True,
    )

    def save(path: Path) -> None:
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "elapsed": elapsed_before + time.perf_counter() - start,
                "args": vars(args) | {"out": str(args.out), "cache": str(args.cache)},
            },
            path,
        )

    from tqdm import tqdm

    start = time.perf_counter()
    bar = tqdm(
        total=args.steps, initial=step, unit="step", disable=args.no_progress, mininterval=20,
        dynamic_ncols=True,
    )
    pool = ShardPool(device)
    model.train()
    while True:
        if step % args.refresh_every == 0 or not len(pool):
            added = pool.add(_shard_paths(args))
            if added:
                shards = len(pool.paths)
                print(f"step {step}: training on {len(pool)} samples from {shards} shards", flush=True)
        elapsed = elapsed_before + time.perf_counter() - start
        progress = elapsed / (args.minutes * 60) if args.minutes else step / args.steps
        if progress >= 1.0 or (not args.minutes and step >= args.steps):
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(progress, step, args)
        images, targets, lens = pool.batch(args.batch, generator)
        x = normalise_tensor(images)
        if args.augment:
            x = jitter(x, generator)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            logprobs = model(x)  # (N, T, C)
            if teacher is not None:
                with torch.no_grad():
                    taught = teacher(x).float()
        logprobs = logprobs.float()  # CTC and KL in float32: bf16's 8-bit mantissa is too coarse
        frames = torch.full((len(lens),), logprobs.shape[1], dtype=torch.long, device=device)
        loss = ctc(logprobs.permute(1, 0, 2), targets, frames, lens)
        if teacher is not None:
            loss = loss + args.distill_weight * frame_kl(logprobs, taught)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        step += 1
        bar.update()
        if step % 50 == 0:  # reading the loss waits for the device: not every step
            postfix = {"loss": f"{loss.item():.3f}"} | ({"time": f"{progress:.0%}"} if args.minutes else {})
            bar.set_postfix(postfix, refresh=False)
        if step % args.ckpt_every == 0:
            save(ckpt_path)
        if args.keep_every and step % args.keep_every == 0:
            save(args.out / f"step{step}.pt")
        if step % args.eval_every == 0:
            metrics = evaluate(model, test_images, test_texts, device)
            record = {
                "step": step,
                "elapsed_s": round(elapsed, 1),
                "loss": round(loss.item(), 4),
                "lr": optimizer.param_groups[0]["lr"],
                "samples": len(pool),
                **metrics,
            }
            with log_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)
    bar.close()
    metrics = evaluate(model, test_images, test_texts, device)
    save(ckpt_path)
    final = {
        "step": step,
        "elapsed_s": round(elapsed_before + time.perf_counter() - start, 1),
        "parameters": count_parameters(model),
        "samples": len(pool),
        "final": True,
        **metrics,
    }
    with log_path.open("a") as f:
        f.write(json.dumps(final) + "\n")
    print(json.dumps(final), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
