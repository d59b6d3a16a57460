"""The reader alone on real RU photos: labelled boxes -> crops -> edge runtime reader.

    python -m models.reader.eval_real [--fp32 edge/inference/weights/reader_fp32.onnx]
        [--int8 edge/inference/weights/reader_int8.onnx]
        [--realdata ../shared/realdata/ru-dev] [--runtime onnxruntime] [--countries RU]

Prints exact plate match and CER (format-constrained decoding, as on the edge box) per model,
and the reader's latency per plate at batch 8 on one thread. Evaluation only: never train on
these photos.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from common.plates.alphabet import to_latin
from edge.inference.crops import crop_plate
from edge.inference.protocols import PlateDetection
from edge.inference.reader import OnnxPlateReader, prepare_reader_batch
from models.paths import READER_FP32, READER_INT8
from models.reader.metrics import score_texts
from models.realdata import load_real_photos


def real_crops(realdata: str | Path | None = None) -> tuple[list[np.ndarray], list[str]]:
    """BGR crops of every readable labelled plate and their canonical texts."""
    crops, texts = [], []
    for photo in load_real_photos(realdata):
        image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"cannot read {photo.path}")
        for plate in photo.plates:
            if plate.readable:
                crops.append(crop_plate(image, PlateDetection(box=tuple(map(float, plate.box)), score=1.0)))
                texts.append(plate.text)
    return crops, texts


def latency_ms_per_plate(
    reader: OnnxPlateReader, crops: list[np.ndarray], batch: int = 8, repeats: int = 30
) -> tuple[float, float]:
    """Network time per plate at `batch` (preprocessing included, decoding excluded): wall-clock
    and CPU time. On a shared machine the CPU time is the fair figure for one idle core."""
    sample = (crops * (batch // max(1, len(crops)) + 1))[:batch]
    for _ in range(5):
        reader.session.run(prepare_reader_batch(sample))
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        reader.session.run(prepare_reader_batch(sample))
    per = repeats * batch / 1000
    return (time.perf_counter() - wall) / per, (time.process_time() - cpu) / per


def evaluate_model(
    path: Path, crops: list[np.ndarray], texts: list[str], backend: str, countries: list[str] | None
) -> dict[str, object]:
    reader = OnnxPlateReader(path, runtime=backend, threads=1, countries=countries)  # type: ignore[arg-type]
    readings = reader.read(crops)
    predicted = [r.latin for r in readings]
    truth = [to_latin(t) for t in texts]
    wall_ms, cpu_ms = latency_ms_per_plate(reader, crops)
    errors = [
        (t, p) for t, p in zip(texts, [r.text for r in readings], strict=True) if to_latin(t) != to_latin(p)
    ]
    return {
        "model": str(path),
        "backend": reader.session.runtime,
        "plates": len(texts),
        **score_texts(predicted, truth),
        "ms_per_plate_b8": round(wall_ms, 3),
        "cpu_ms_per_plate_b8": round(cpu_ms, 3),
        "size_kib": round(path.stat().st_size / 1024, 1),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fp32", type=Path, default=READER_FP32)
    parser.add_argument("--int8", type=Path, default=READER_INT8)
    parser.add_argument("--realdata", default=None, help="ru-dev folder (default ../shared/realdata/ru-dev)")
    parser.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "openvino", "auto"])
    parser.add_argument("--countries", nargs="*", default=None, help="country prior, e.g. RU (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    crops, texts = real_crops(args.realdata)
    results = []
    for label, path in (("FP32", args.fp32), ("INT8", args.int8)):
        if not path.is_file():
            print(f"{label}: {path} not found, skipped", file=sys.stderr)
            continue
        result = evaluate_model(path, crops, texts, args.runtime, args.countries) | {"precision": label}
        results.append(result)
        print(
            f"{label} {path.name} [{result['backend']}]: exact {result['exact']:.1%}  "
            f"CER {result['cer']:.2%}  {result['cpu_ms_per_plate_b8']:.3f} ms CPU /"
            f" {result['ms_per_plate_b8']:.3f} ms wall per plate (batch 8, 1 thread)  "
            f"{result['size_kib']} KiB  "
            f"on {result['plates']} real plates"
        )
        for truth, got in result["errors"]:  # type: ignore[union-attr]
            print(f"    {truth} -> {got}")
    if not results:
        print("no model to evaluate", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
