"""Reader training data: how fast the synthetic crops render, and how often each glyph occurs.

    python bench/bench_synth.py [--mix europe] [--n 300] [--labels 20000] [--seed 22]
                                [--font-dir ../shared/fonts]

Speed: samples/s of OcrSampleFactory.sample in this process (one core), as CPU time of this
thread (time.thread_time, so other processes on a shared machine do not inflate it) and as wall
time. Run it on two checkouts (PYTHONPATH) to compare renderers.

Glyph frequency: the labels of the first --labels samples of the seed under the mix (drawn as
the factory draws them, without rendering), each letter's and digit's share of all glyphs
against the mean share of its kind; letters under half the mean are flagged, since a reader
sees too few of them to learn them.
"""

from __future__ import annotations

import argparse
import string
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def label_counts(factory, seed: int, n: int) -> Counter[str]:
    """Glyph counts of the labels of samples (seed, 0..n-1), as OcrSampleFactory.sample draws them."""
    from common.plates.alphabet import to_latin
    from models.synth.plate_render import REGISTRY_FORMATS

    counts: Counter[str] = Counter()
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        style = factory.styles[int(rng.choice(len(factory.styles), p=factory._probs))]
        fmt = REGISTRY_FORMATS[style.key]
        draw = getattr(factory, "draw_text", None)  # older factories draw uniformly
        counts.update(to_latin(draw(fmt, rng) if draw else fmt.random_text(rng)))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mix", default="europe")
    parser.add_argument("--n", type=int, default=300, help="samples to time")
    parser.add_argument("--labels", type=int, default=20_000, help="labels to count glyphs over")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--font-dir", default=None)
    args = parser.parse_args()

    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory

    factory = OcrSampleFactory(FontSet.discover(args.font_dir), mix=args.mix)
    for i in range(200):  # warm the glyph cache (a cache shard renders 4000 samples per process)
        factory.sample(args.seed + 1000, i)
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    for i in range(args.n):
        factory.sample(args.seed, i)
    cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
    print(f"render: {args.n / cpu:.0f} samples/s CPU, {args.n / wall:.0f} samples/s wall ({args.n} samples)")

    if args.labels:
        counts = label_counts(factory, args.seed, args.labels)
        total = sum(counts.values())
        for kind, alphabet in (("letter", string.ascii_uppercase), ("digit", string.digits)):
            shares = {g: counts[g] / total for g in alphabet}
            mean = sum(shares.values()) / len(shares)
            row = "  ".join(f"{g}:{shares[g] / mean:.2f}" for g in alphabet)
            print(f"{kind} share / mean {kind} share over {args.labels} labels ({mean:.2%} each on average):")
            print("  " + row)
            rare = [g for g in alphabet if shares[g] < 0.5 * mean]
            print(f"  under 0.5x the mean: {', '.join(rare) if rare else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
