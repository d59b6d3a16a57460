"""The shipped reader models on the held-out synthetic test shards (render seed 2).

    python -m models.reader.eval_synth [--fp32 edge/inference/weights/reader_fp32.onnx]
        [--int8 edge/inference/weights/reader_int8.onnx]

Prints exact match and CER with greedy and with format-constrained decoding, overall and for
Russian one-row plates, so INT8 can be compared with FP32 on more plates than the real set has.
It also measures the plate grammar on the reader's own mistakes: of the plates greedy decoding
gets wrong by exactly one character, how many the format-constrained decoder (which sees the
reader's probabilities) and the text-only corrector (which sees the greedy string) put right,
and how many plates greedy got right that each one breaks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.plates.alphabet import decode
from common.plates.correct import correct
from common.plates.decode import decode_plate
from common.plates.validate import validate
from edge.inference.reader_input import normalise
from edge.inference.runtimes import open_session
from models.metrics import edit_distance
from models.paths import READER_FP32, READER_INT8
from models.reader.cache import CacheSpec, build_cache, load_shards
from models.reader.metrics import greedy_texts, score_texts


@dataclass(frozen=True)
class GrammarFixes:
    single_errors: int  # plates greedy decoding misread by exactly one character
    fixed: int  # of those, read right after the grammar
    detectable: int  # of those, misreadings that are not themselves a valid plate
    fixed_detectable: int
    broken: int  # plates greedy read right that the grammar changed

    @property
    def rate(self) -> float:
        return self.fixed / self.single_errors if self.single_errors else 0.0

    def __str__(self) -> str:
        detectable = self.fixed_detectable / self.detectable if self.detectable else 0.0
        return (
            f"fixes {self.fixed}/{self.single_errors} single-character errors ({self.rate:.1%}; "
            f"{self.fixed_detectable}/{self.detectable} = {detectable:.1%} of those that are not "
            f"valid plates), breaks {self.broken}"
        )


def grammar_fixes(greedy: Sequence[str], after: Sequence[str], truth: Sequence[str]) -> GrammarFixes:
    single = [i for i, (g, t) in enumerate(zip(greedy, truth, strict=True)) if edit_distance(g, t) == 1]
    detectable = [i for i in single if not is_valid_plate(greedy[i])]
    return GrammarFixes(
        single_errors=len(single),
        fixed=sum(after[i] == truth[i] for i in single),
        detectable=len(detectable),
        fixed_detectable=sum(after[i] == truth[i] for i in detectable),
        broken=sum(g == t and a != t for g, a, t in zip(greedy, after, truth, strict=True)),
    )


def is_valid_plate(text: str) -> bool:
    return bool(text) and validate(text).valid


def text_corrected(text: str) -> str:
    """The text-only corrector's first choice for a greedy string (the string itself if none)."""
    try:
        found = correct(text)
    except ValueError:
        return text
    return found[0].latin if found else text


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
        corrected = [text_corrected(g) for g in greedy]
        print(
            "  grammar on the reader's own errors: constrained decoder "
            f"{grammar_fixes(greedy, constrained, truth)}; text-only corrector "
            f"{grammar_fixes(greedy, corrected, truth)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
