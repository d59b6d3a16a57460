"""Inference runtimes behind one small interface, picked by name from a registry.

ONNX Runtime runs everywhere; OpenVINO is usually faster on Intel CPUs, so `auto` prefers it
there. Both load the same single-file ONNX models shipped in `models/`.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

BackendName = Literal["auto", "onnxruntime", "openvino"]


class ModelLoadError(RuntimeError):
    """A model file is missing, unreadable or refused by the runtime."""


class InferenceSession(Protocol):
    """One loaded model: a single input tensor in, its output tensors out."""

    backend: str
    input_name: str
    input_shape: tuple[int | str | None, ...]

    def run(self, batch: np.ndarray) -> list[np.ndarray]: ...


class OnnxRuntimeSession:
    backend = "onnxruntime"

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads otherwise spin waiting for work: with 2 threads a 1080p channel cost
        # 21 ms of CPU per frame instead of 13 (bench/profile_edge.py), a core burned on nothing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises several unrelated exception types
            raise ModelLoadError(f"onnxruntime cannot load {path}: {exc}") from exc
        model_input = self._session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_shape = tuple(model_input.shape)
        self._output_names = [o.name for o in self._session.get_outputs()]

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return list(self._session.run(self._output_names, {self.input_name: batch}))


class OpenVinoSession:
    backend = "openvino"

    def __init__(self, path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        try:
            model = core.read_model(str(path))
            config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
            self._compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses without a common base
            raise ModelLoadError(f"OpenVINO cannot load {path}: {exc}") from exc
        model_input = self._compiled.inputs[0]
        self.input_name = model_input.get_any_name()
        partial = model_input.get_partial_shape()
        self.input_shape = tuple(d.get_length() if d.is_static else None for d in partial)
        self._request = self._compiled.create_infer_request()

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        results = self._request.infer({0: batch})
        return [np.asarray(results[out]) for out in self._compiled.outputs]


SESSION_BACKENDS: dict[str, Callable[[Path, int], InferenceSession]] = {
    "onnxruntime": OnnxRuntimeSession,
    "openvino": OpenVinoSession,
}


def _openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(name: BackendName) -> str:
    """The concrete backend for `name`; `auto` takes OpenVINO on x86 Intel/AMD CPUs when installed."""
    if name != "auto":
        if name not in SESSION_BACKENDS:
            raise ValueError(f"unknown inference backend {name!r}; choose from {sorted(SESSION_BACKENDS)}")
        return name
    if platform.machine().lower() in {"x86_64", "amd64"} and _openvino_available():
        return "openvino"
    return "onnxruntime"


def open_session(path: str | Path, backend: BackendName = "auto", threads: int = 1) -> InferenceSession:
    """Load one ONNX model file with the chosen runtime."""
    model_path = Path(path)
    if not model_path.is_file():
        raise ModelLoadError(f"model file not found: {model_path}")
    return SESSION_BACKENDS[resolve_backend(backend)](model_path, threads)
