"""Export a trained detector checkpoint to the shipped FP32 and INT8 ONNX files.

    python -m models.detector.ship [--checkpoint runs/detector/main/last.pt]

Writes `edge/inference/weights/detector_fp32.onnx` (Nx1x320x416 input, outputs heatmap/box/corners;
without --checkpoint the existing file is kept and only quantised again),
renders 400 synthetic calibration frames, quantises with `models.quantize` (QDQ, QUInt8
activations, per-channel QInt8 weights, percentile ranges, FP32 heads) into
`edge/inference/weights/detector_int8.onnx`, and checks that ONNX Runtime and OpenVINO both load
and run both files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from edge.inference.detector import DEFAULT_SCORE_THRESHOLD, DETECTOR_INPUT_HW
from edge.inference.runtimes import open_session
from models.export import export_onnx
from models.paths import DETECTOR_FP32, DETECTOR_INT8
from models.quantize import quantize_model

CALIBRATION_SEED = 31337  # neither a training nor the synthetic test seed
OUTPUT_NAMES = ("heatmap", "box", "corners")

# models.quantize looks preprocessors up by model kind; the detector's lives here.


def write_calibration_frames(out: Path, count: int) -> int:
    """Synthetic street frames at camera-like sizes (letterboxed by the preprocessor like real ones)."""
    from models.synth.scene_plates import RenderedPlateSource
    from models.synth.scenes import SceneConfig, render_scene

    out.mkdir(parents=True, exist_ok=True)
    plates = RenderedPlateSource()
    sizes = [(480, 640), (600, 800), (720, 1280)]
    for i in range(count):
        h, w = sizes[i % len(sizes)]
        scale = w / DETECTOR_INPUT_HW[1]
        cfg = SceneConfig(height=h, width=w, min_plate_width=SceneConfig.min_plate_width * scale,
                          max_plate_width=SceneConfig.max_plate_width * scale)
        scene = render_scene(np.random.default_rng([CALIBRATION_SEED, i]), plates, cfg)
        cv2.imwrite(str(out / f"calib_{i:04d}.png"), scene.image)
    return count


def export_fp32(checkpoint: Path, path: Path) -> Path:
    from models.detector.train import load_model

    model = load_model(checkpoint)
    example = torch.zeros(1, 1, *DETECTOR_INPUT_HW)
    return export_onnx(
        model, example, path, kind="detector", output_names=OUTPUT_NAMES,
        metadata={"input_hw": f"{DETECTOR_INPUT_HW[0]}x{DETECTOR_INPUT_HW[1]}", "input_format": "gray 0..1",
                  "outputs": "heatmap logits, log ltrb distances in strides, corners / box size",
                  "score_threshold": str(DEFAULT_SCORE_THRESHOLD), "checkpoint": checkpoint.name},
    )


def check_runtimes(path: Path) -> None:
    """Both runtimes load the file and agree with each other on a real-looking input."""
    tensor = np.random.default_rng(0).random((1, 1, *DETECTOR_INPUT_HW), dtype=np.float32)
    results = {}
    for backend in ("onnxruntime", "openvino"):
        outputs = open_session(path, backend, 1).run(tensor)  # type: ignore[arg-type]
        if [o.shape[1] for o in outputs] != [1, 4, 8]:
            raise RuntimeError(f"{path} on {backend}: unexpected outputs {[o.shape for o in outputs]}")
        results[backend] = outputs
    pairs = zip(results["onnxruntime"], results["openvino"], strict=True)
    diff = max(float(np.abs(a - b).max()) for a, b in pairs)
    print(f"{path.name}: onnxruntime and openvino both run it; max output difference {diff:.3g}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.detector.ship", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="checkpoint to export; without it the existing --fp32 file is quantised again")
    p.add_argument("--fp32", type=Path, default=DETECTOR_FP32)
    p.add_argument("--int8", type=Path, default=DETECTOR_INT8)
    p.add_argument("--calibration-dir", type=Path, default=Path("runs/detector/calib"))
    p.add_argument("--calibration-count", type=int, default=400)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(1)
    if args.checkpoint is not None:
        if not args.checkpoint.is_file():
            print(f"checkpoint not found: {args.checkpoint}", file=sys.stderr)
            return 2
        export_fp32(args.checkpoint, args.fp32)
    elif not args.fp32.is_file():
        print(f"no checkpoint given and no FP32 detector at {args.fp32}", file=sys.stderr)
        return 2
    existing = len(list(args.calibration_dir.glob("calib_*.png"))) if args.calibration_dir.is_dir() else 0
    if existing < args.calibration_count:
        write_calibration_frames(args.calibration_dir, args.calibration_count)
    quantize_model(args.fp32, args.int8, args.calibration_dir, kind="detector", limit=args.calibration_count)
    fp32, int8 = args.fp32.stat().st_size, args.int8.stat().st_size
    print(f"wrote {args.fp32} ({fp32 / 1024:.0f} KiB) and {args.int8} "
          f"({int8 / 1024:.0f} KiB, {int8 / fp32:.0%})")
    check_runtimes(args.fp32)
    check_runtimes(args.int8)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
