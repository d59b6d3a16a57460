"""Measure the shipped detector: recall/precision on the real RU photos and a fixed synthetic set,
and latency per 1080p frame including letterbox resize.

    python -m models.detector.eval_real [--models fp32 int8] [--runtime onnxruntime] [--threads 2]

EVALUATION ONLY: the real photos are never used for training; `--sweep` prints the
recall/precision trade-off over score thresholds, which is how the shipped default was chosen.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edge.inference.detector import DEFAULT_SCORE_THRESHOLD, OnnxPlateDetector
from edge.inference.protocols import PlateDetection
from models.detector.evaluate import synthetic_test_set
from models.metrics import DetectionScore
from models.paths import DETECTOR_FP32, DETECTOR_INT8
from models.realdata import load_real_photos

SWEEP = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7)
FRAME_1080P = (1080, 1920)


def score_at(
    truths: list[list[tuple[float, float, float, float]]], found: list[list[PlateDetection]], threshold: float
) -> DetectionScore:
    score = DetectionScore()
    for truth, dets in zip(truths, found, strict=True):
        score.add(truth, [d.box for d in dets if d.score >= threshold])
    return score


def latency_ms(detector: OnnxPlateDetector, frame: np.ndarray, runs: int) -> tuple[float, float, float]:
    """Median and 90th-percentile wall milliseconds for detect() on one frame, resize included,
    and the mean CPU milliseconds it used (all threads): on a shared, busy machine the wall time
    mostly measures the neighbours, the CPU time measures the detector."""
    for _ in range(5):
        detector.detect(frame)
    times = []
    cpu_start = time.process_time()
    for _ in range(runs):
        start = time.perf_counter()
        detector.detect(frame)
        times.append((time.perf_counter() - start) * 1000)
    cpu_ms = (time.process_time() - cpu_start) * 1000 / runs
    return statistics.median(times), float(np.percentile(times, 90)), cpu_ms


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.detector.eval_real", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["fp32", "int8"], help="fp32, int8, or .onnx paths")
    p.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "openvino", "auto"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--realdata", type=Path, default=None, help="default ../shared/realdata/ru-dev")
    p.add_argument("--score-threshold", type=float, default=DEFAULT_SCORE_THRESHOLD)
    p.add_argument("--synthetic", type=int, default=300, help="synthetic test scenes (0: skip)")
    p.add_argument("--latency-runs", type=int, default=100)
    p.add_argument("--sweep", action="store_true", help="recall/precision over score thresholds")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    photos = load_real_photos(args.realdata)
    frames = [cv2.imread(str(p.path), cv2.IMREAD_COLOR) for p in photos]
    if any(f is None for f in frames):
        print("cannot read some real photos", file=sys.stderr)
        return 1
    real_truth = [[tuple(float(v) for v in plate.box) for plate in p.plates] for p in photos]
    synth_scenes = []
    if args.synthetic > 0:
        from models.synth.scene_plates import RenderedPlateSource

        synth_scenes = synthetic_test_set(RenderedPlateSource(), args.synthetic)
    synth_truth = [[tuple(float(v) for v in b) for b in s.boxes] for s in synth_scenes]
    # a 1080p frame with real content: the first photo stretched to 1920x1080
    frame_1080 = cv2.resize(frames[0], FRAME_1080P[::-1], interpolation=cv2.INTER_LINEAR)

    paths = {"fp32": DETECTOR_FP32, "int8": DETECTOR_INT8}
    results: dict[str, dict[str, object]] = {}
    for name in args.models:
        path = paths.get(name, Path(name))
        # collect everything above a low threshold once, then score any threshold from it
        detector = OnnxPlateDetector(path, args.runtime, args.threads, score_threshold=0.05)
        real_found = [detector.detect(f) for f in frames]
        synth_found = [detector.detect(s.image) for s in synth_scenes]
        real = score_at(real_truth, real_found, args.score_threshold)  # type: ignore[arg-type]
        median, p90, cpu_ms = latency_ms(detector, frame_1080, args.latency_runs)
        entry: dict[str, object] = {
            "model": str(path), "backend": detector.runtime, "threads": args.threads,
            "size_bytes": path.stat().st_size, "score_threshold": args.score_threshold,
            "real": real.as_dict(), "latency_1080p_ms_median": median, "latency_1080p_ms_p90": p90,
            "cpu_ms_per_1080p_frame": cpu_ms,
        }
        print(f"{name}: {path.name} ({path.stat().st_size / 1024:.0f} KiB) on {detector.runtime}, "
              f"{args.threads} threads, score >= {args.score_threshold}")
        print(f"  real RU photos: recall {real.recall:.1%} precision {real.precision:.1%} "
              f"({real.hits}/{real.truths} plates, {real.predictions} boxes)")
        if synth_scenes:
            synth = score_at(synth_truth, synth_found, args.score_threshold)  # type: ignore[arg-type]
            entry["synthetic"] = synth.as_dict()
            print(f"  synthetic ({len(synth_scenes)} scenes): recall {synth.recall:.1%} "
                  f"precision {synth.precision:.1%} ({synth.hits}/{synth.truths})")
        print(f"  latency per 1080p frame incl. resize: median {median:.2f} ms, p90 {p90:.2f} ms "
              f"(CPU {cpu_ms:.2f} ms per frame over all threads)")
        if args.sweep:
            sweep = []
            for t in SWEEP:
                s = score_at(real_truth, real_found, t)  # type: ignore[arg-type]
                sweep.append({"threshold": t, "recall": s.recall, "precision": s.precision})
                print(f"    real @ {t:.2f}: recall {s.recall:.1%} precision {s.precision:.1%}")
            entry["real_sweep"] = sweep
        results[name] = entry
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
