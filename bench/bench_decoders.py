"""Plate decoders and corrector: latency per plate, what the grammar buys, correction rate.

    python bench/bench_decoders.py [--plates 500] [--corrections 1000] [--seed 0]

Input: reader-like CTC output (T=32 frames, 37 classes, log-softmax) synthesised for random valid
plates by ``common.plates.simulate.synthetic_emissions``: peaky like a trained CRNN, with a
look-alike glyph competing at 20% of glyphs (it wins at about 40% of those). Latency is CPU time
of this thread (time.thread_time), so other processes on a shared machine do not inflate it;
wall time is printed beside it.

Correction rate: random valid plates, each with one OCR error drawn from
``common.plates.simulate.ERROR_MIX``; "fixed" means the corrector's first candidate is the
original plate. Errors that leave a valid plate cannot be noticed from text, so rates are
given over all errors and over the detectable ones. Correction latency is CPU ms per
misreading, for a device set to RU and for all countries allowed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common.plates.alphabet import decode  # noqa: E402
from common.plates.correct import correct  # noqa: E402
from common.plates.ctc import greedy_decode, prefix_beam_search  # noqa: E402
from common.plates.decode import decode_plate  # noqa: E402
from common.plates.registry import load_registry  # noqa: E402
from common.plates.simulate import ERROR_MIX, correction_rate, single_error, synthetic_emissions  # noqa: E402


def _time(fn: Callable[[Any], object], inputs: Sequence[Any]) -> tuple[float, float, float]:
    """Median and p95 CPU milliseconds per call, and mean wall milliseconds."""
    cpu: list[float] = []
    wall_start = time.perf_counter()
    for x in inputs:
        start = time.thread_time()
        fn(x)
        cpu.append((time.thread_time() - start) * 1e3)
    wall = (time.perf_counter() - wall_start) * 1e3 / len(inputs)
    cpu.sort()
    return statistics.median(cpu), cpu[int(0.95 * (len(cpu) - 1))], wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plates", type=int, default=500, help="plates for latency and accuracy")
    parser.add_argument("--corrections", type=int, default=1000, help="plates for the correction rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    registry = load_registry()
    rng = np.random.default_rng(args.seed)
    ru = registry.automaton(["RU"])
    everything = registry.automaton()
    plates: list[str] = []
    inputs: list[np.ndarray] = []
    for _ in range(args.plates):
        fmt = registry.sample_format(rng, ["RU"])
        glyphs = fmt.random_glyphs(rng)
        plates.append(glyphs)
        inputs.append(synthetic_emissions(glyphs, rng, confusion_rate=0.2))
    decode_plate(inputs[0])  # build and cache the automata before timing

    print(f"Decoder latency per plate (T=32, C=37, beam 10; {args.plates} RU plates; CPU ms)")
    print(f"{'decoder':58s} {'median':>7s} {'p95':>7s} {'wall':>7s}")
    cases: list[tuple[str, Callable[[np.ndarray], object]]] = [
        ("greedy", greedy_decode),
        ("prefix beam search, unconstrained", lambda x: prefix_beam_search(x, 10)),
        ("prefix beam search, constrained to RU", lambda x: prefix_beam_search(x, 10, automaton=ru)),
        (
            f"prefix beam search, constrained to all {len(registry.countries)} countries",
            lambda x: prefix_beam_search(x, 10, automaton=everything),
        ),
        ("decode_plate(countries=['RU']) (search + candidates)", lambda x: decode_plate(x, countries=["RU"])),
        (
            "exact (no glyph/beam pruning), constrained to RU",
            lambda x: prefix_beam_search(x, 10, automaton=ru, min_char_prob=0.0, prune_ratio=0.0),
        ),
    ]
    for name, fn in cases:
        median, p95, wall = _time(fn, inputs)
        print(f"{name:58s} {median:7.3f} {p95:7.3f} {wall:7.3f}")

    pairs = list(zip(inputs, plates, strict=True))
    greedy_right = sum(decode(list(greedy_decode(x).labels)) == p for x, p in pairs)
    constrained_right = sum(decode_plate(x, countries=["RU"])[0].latin == p for x, p in pairs)
    print()
    print("Exact plate match on the same input (look-alikes win at ~8% of glyphs)")
    print(f"  greedy                 {greedy_right / len(plates):6.1%}")
    print(f"  decode_plate (RU)      {constrained_right / len(plates):6.1%}")

    settings = (("device set to RU", ["RU"]), ("plates of all countries, each told its country", None))
    for label, countries in settings:
        tallies = correction_rate(np.random.default_rng(args.seed + 1), args.corrections, countries, registry)
        print()
        print(f"Correction of single OCR errors, {args.corrections} plates, {label}")
        header = f"{'plates':>6s} {'fixed':>7s} {'detectable':>10s} {'fixed of detectable':>20s}"
        print(f"  {'error kind':20s} {header}")
        for kind, t in tallies.items():
            rate = t.fixed / t.total if t.total else 0.0
            detectable_rate = t.fixed_detectable / t.detectable if t.detectable else 0.0
            print(f"  {kind:20s} {t.total:6d} {rate:7.1%} {t.detectable:10d} {detectable_rate:20.1%}")

    misreadings: list[str] = []
    kinds = list(ERROR_MIX)
    shares = np.array([ERROR_MIX[k] for k in kinds])
    for _ in range(min(args.corrections, 300)):
        glyphs = registry.sample_format(rng, ["RU"]).random_glyphs(rng)
        misreadings.append(single_error(glyphs, rng, kinds[int(rng.choice(len(kinds), p=shares))]))
    print()
    print(f"Correction latency per misreading ({len(misreadings)} RU plates, one error each; CPU ms)")
    print(f"{'corrector':58s} {'median':>7s} {'p95':>7s} {'wall':>7s}")
    for name, allowed in (("correct(countries=['RU'])", ["RU"]), ("correct(), all countries", None)):
        correct(misreadings[0], registry, countries=allowed)  # unroll and cache the layouts first
        median, p95, wall = _time(lambda x, a=allowed: correct(x, registry, countries=a), misreadings)
        print(f"{name:58s} {median:7.3f} {p95:7.3f} {wall:7.3f}")


if __name__ == "__main__":
    main()
