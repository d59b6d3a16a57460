"""The shipped reader models on the held-out synthetic test shards (render seed 2).

    python -m models.reader.eval_synth [--fp32 models/reader_fp32.onnx] [--int8 models/reader_int8.onnx]

Prints exact match and CER with greedy and with format-constrained decoding, overall and for
Russian one-row plates, so INT8 can be compared with FP32 on more plates than the real set has.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from common.plates.alphabet import decode
from common.plates.decode import decode_plate
from edge.inference.reader_input import normalise
from edge.inference.runtime import open_session
from models.paths import READER_FP32, READER_INT8
from models.reader.cache import CacheSpec, build_cache, load_shards
from models.reader.metrics import greedy_texts, score_texts


def model_logprobs(path: Path, images: np.ndarray, batch: int = 64) -> np.ndarray:
    session = open_session(path, "onnxruntime", threads=1)
    return np.concatenate(
        [session.run(normalise(images[i : i + batch]))[0] for i in range(0, len(images), batch)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fp32", type=Path, default=READER_FP32)
    parser.add_argument("--int8", type=Path, default=READER_INT8)
    parser.add_argument("--cache", type=Path, default=Path("runs/reader/cache"))
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args(argv)
    spec = CacheSpec(seed=args.seed, count=args.count, shard_size=args.count)
    images, labels, lengths, styles = load_shards(build_cache(spec, args.cache, progress=False))
    truth = [decode(list(row[:n])) for row, n in zip(labels, lengths, strict=True)]
    ru = np.array([s == "RU/standard" for s in styles])
    for label, path in (("FP32", args.fp32), ("INT8", args.int8)):
        if not path.is_file():
            print(f"{label}: {path} not found, skipped", file=sys.stderr)
            continue
        lp = np.minimum(model_logprobs(path, images), 0.0)
        greedy = greedy_texts(lp)
        constrained = [decode_plate(item)[0].latin for item in lp]
        ru_truth = [t for t, r in zip(truth, ru, strict=True) if r]
        ru_pred = [p for p, r in zip(constrained, ru, strict=True) if r]
        print(
            f"{label} {path.name}: {len(truth)} synthetic plates, greedy {score_texts(greedy, truth)}, "
            f"constrained {score_texts(constrained, truth)}; RU/standard ({len(ru_truth)}) constrained "
            f"{score_texts(ru_pred, ru_truth)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
