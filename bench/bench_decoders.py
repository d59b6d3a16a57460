"""Plate decoders and corrector: latency per plate, what the grammar buys, correction rate.

    python bench/bench_decoders.py [--plates 500] [--corrections 1000] [--seed 0]
                                   [--countries-only]

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

Every country on (``--countries-only`` runs just this part): the automaton's size and build time
for RU, for the 16 countries of the first grammar and for all of them (the beam search steps it
by one list lookup per (beam, glyph), so its size costs memory and build time, not time per
frame), then decode_plate with all countries allowed on plates of every country drawn by format
weight: latency, exact match, and how often the first reading has the right glyphs but another
country (a string several countries issue: ABC123 is LT, MD, FI ... and only priors or the
plate's band can tell).
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
from common.plates.automaton import PlateAutomaton  # noqa: E402
from common.plates.correct import correct  # noqa: E402
from common.plates.ctc import greedy_decode, prefix_beam_search  # noqa: E402
from common.plates.decode import decode_plate  # noqa: E402
from common.plates.registry import FormatRegistry, load_registry  # noqa: E402
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
    parser.add_argument("--countries-only", action="store_true", help="only the every-country figures")
    args = parser.parse_args()

    registry = load_registry()
    every_country(registry, args.plates, args.seed)
    if args.countries_only:
        return
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


# The countries of the first grammar, for the automaton size before the European ones came.
FIRST_COUNTRIES = (
    "AM", "BY", "CZ", "DE", "EE", "FI", "GE", "KG", "KZ", "LT", "LV", "MD", "PL", "RU", "UA", "UZ"
)


def every_country(registry: FormatRegistry, count: int, seed: int) -> None:
    print(f"Automaton (registry of {len(registry.countries)} countries, {len(registry.formats)} formats)")
    print(f"{'countries':28s} {'states':>7s} {'build ms':>9s} {'lists MB':>9s}")
    for label, countries in (("RU", ["RU"]), ("first 16", list(FIRST_COUNTRIES)), ("all", None)):
        start = time.perf_counter()
        automaton = PlateAutomaton.from_formats(registry.formats_for(countries))
        build_ms = (time.perf_counter() - start) * 1e3
        rows = automaton.transition_lists
        size = sys.getsizeof(rows) + sum(sys.getsizeof(r) for r in rows)
        size += sum(sys.getsizeof(v) for v in set(automaton.transitions.ravel().tolist()))
        print(f"{label:28s} {automaton.num_states:7d} {build_ms:9.0f} {size / 2**20:9.1f}")
    rng = np.random.default_rng(seed + 7)
    truth: list[tuple[str, str]] = []
    inputs: list[np.ndarray] = []
    for _ in range(count):
        fmt = registry.sample_format(rng)
        glyphs = fmt.random_glyphs(rng)
        truth.append((glyphs, fmt.country))
        inputs.append(synthetic_emissions(glyphs, rng, confusion_rate=0.2))
    registry.automaton()
    print()
    print(f"decode_plate, every country allowed, {count} plates of every country drawn by format weight")
    print(f"{'decoder':58s} {'median':>7s} {'p95':>7s} {'wall':>7s}")
    for name, allowed in (("decode_plate(countries=None)", None), ("decode_plate(countries=['RU'])", ["RU"])):
        median, p95, wall = _time(lambda x, a=allowed: decode_plate(x, registry, countries=a), inputs)
        print(f"{name:58s} {median:7.3f} {p95:7.3f} {wall:7.3f}")
    exact = same_glyphs_other_country = 0
    by_country: dict[str, list[int]] = {}
    for x, (glyphs, country) in zip(inputs, truth, strict=True):
        best = decode_plate(x, registry)[0]
        tally = by_country.setdefault(country, [0, 0, 0])
        tally[0] += 1
        if best.latin == glyphs:
            exact += 1
            tally[1] += 1
            if best.country != country:
                same_glyphs_other_country += 1
                tally[2] += 1
    print(f"  exact glyphs {exact / count:6.1%}; of those, another country first "
          f"{same_glyphs_other_country / max(exact, 1):6.1%}")
    worst = sorted(by_country.items(), key=lambda kv: -kv[1][2] / max(kv[1][1], 1))[:8]
    print("  most often given to another country (right glyphs): " + ", ".join(
        f"{c} {t[2]}/{t[1]}" for c, t in worst if t[2]))


if __name__ == "__main__":
    main()
