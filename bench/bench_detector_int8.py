"""Where the INT8 detector's time goes, beside the FP32 one, on ONNX Runtime and OpenVINO.

    python bench/bench_detector_int8.py [--runs 300] [--threads 1] [--candidate FILE ...]

Times both shipped detector files on one real frame's 320x416 input (median of interleaved
runs, each runtime as the edge opens it), then breaks each down per operator: ONNX Runtime's
profiler (time per op type, and how many nodes still run in float beside the quantised ones),
and OpenVINO's performance counters (time per layer type and the precision each ran in). It
answers why the INT8 detector is or is not faster: which ops stay in float, and what the
Quantize/Dequantize pairs around them cost. `--candidate` times other quantisations of the
detector beside the shipped files (e.g. from `models.quantize` with nodes kept in float), and
OpenVINO is timed a second time held to f32, as on CPUs without bf16 (most cheap edge boxes):
where the CPU has bf16, OpenVINO runs the FP32 file in bf16.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.inference.detector import prepare_detector_input
from edge.inference.runtimes import open_session
from edge.inference.weights import DETECTOR_FP32, DETECTOR_INT8
from models.realdata import load_real_photos

MODELS = {"FP32": DETECTOR_FP32, "INT8": DETECTOR_INT8}


def _input() -> np.ndarray:
    try:
        frame = cv2.imread(str(load_real_photos()[0].path))
    except FileNotFoundError:
        frame = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    tensor, _ = prepare_detector_input(frame)
    return tensor


def median_ms(
    runtime: str, threads: int, x: np.ndarray, runs: int, models: dict[str, Path],
    precision: str | None = None,
) -> dict[str, float]:
    if precision is None:
        sessions = {name: open_session(path, runtime, threads) for name, path in models.items()}
    else:
        sessions = {name: _OpenVinoAt(path, threads, precision) for name, path in models.items()}
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(20):
        for session in sessions.values():
            session.run(x)
    for _ in range(runs):
        for name, session in sessions.items():  # interleaved: both see the same machine load
            start = time.perf_counter()
            session.run(x)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


class _OpenVinoAt:
    """An OpenVINO session held to one inference precision (the edge leaves OpenVINO's default)."""

    def __init__(self, path: Path, threads: int, precision: str) -> None:
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": precision}
        self._request = core.compile_model(core.read_model(str(path)), "CPU", config).create_infer_request()

    def run(self, x: np.ndarray) -> None:
        self._request.infer({0: x})


def ort_ops(path: Path, threads: int, x: np.ndarray, runs: int) -> tuple[Counter[str], Counter[str]]:
    """Microseconds per run by op type, and node counts by op type, from ONNX Runtime's profiler."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        for _ in range(runs):
            session.run(None, {name: x})
        events = json.loads(Path(session.end_profiling()).read_text())
    micros: Counter[str] = Counter()
    nodes: Counter[str] = Counter()
    seen: set[str] = set()
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        op = event["args"]["op_name"]
        micros[op] += event["dur"] / runs
        if event["name"] not in seen:
            seen.add(event["name"])
            nodes[op] += 1
    return micros, nodes


def openvino_layers(path: Path, threads: int, x: np.ndarray, runs: int) -> Counter[tuple[str, str]]:
    """Microseconds per run by (layer type, precision it ran in), from OpenVINO's counters."""
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(str(path)), "CPU",
        {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": True},
    )
    request = compiled.create_infer_request()
    totals: Counter[tuple[str, str]] = Counter()
    for _ in range(runs):
        request.infer({0: x})
        for info in request.profiling_info:
            if info.status == info.Status.EXECUTED:
                key = (info.node_type, info.exec_type.split("_")[-1])
                totals[key] += info.real_time.total_seconds() * 1e6
    return Counter({key: value / runs for key, value in totals.items()})


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--candidate", type=Path, nargs="*", default=[], help="more detector files to time")
    args = parser.parse_args()
    x = _input()
    models = MODELS | {path.stem: path for path in args.candidate}
    print(
        f"detector input {tuple(x.shape)}, {args.threads} thread(s), median of {args.runs} interleaved runs"
    )
    for runtime, precision in (("onnxruntime", None), ("openvino", None), ("openvino", "f32")):
        ms = median_ms(runtime, args.threads, x, args.runs, models, precision)
        label = runtime + ("" if precision is None else f" ({precision})")
        cells = "   ".join(f"{name} {value:.2f} ms ({value / ms['FP32']:.2f})" for name, value in ms.items())
        print(f"  {label:<18} {cells}")

    print("\nONNX Runtime, microseconds per run by op type (nodes):")
    profiles = {name: ort_ops(path, args.threads, x, 100) for name, path in MODELS.items()}
    ops = sorted({op for micros, _ in profiles.values() for op in micros},
                 key=lambda op: -max(profiles[n][0][op] for n in MODELS))
    print(f"  {'op':<24}" + "".join(f"{name:>18}" for name in MODELS))
    for op in ops:
        cells = "".join(f"{profiles[n][0][op]:>11.0f} ({profiles[n][1][op]:>3})" for n in MODELS)
        print(f"  {op:<24}{cells}")
    print("  " + "total".ljust(24) + "".join(f"{sum(profiles[n][0].values()):>11.0f}      " for n in MODELS))

    print("\nOpenVINO, microseconds per run by layer type and the precision it ran in:")
    for name, path in MODELS.items():
        layers = openvino_layers(path, args.threads, x, 100)
        total = sum(layers.values())
        top = ", ".join(f"{t}/{p} {us:.0f}" for (t, p), us in layers.most_common(8))
        by_precision: Counter[str] = Counter()
        for (_, precision), us in layers.items():
            by_precision[precision] += us
        split = ", ".join(f"{p} {us / total:.0%}" for p, us in by_precision.most_common())
        print(f"  {name}: {total:.0f} us; by precision: {split}\n    {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
