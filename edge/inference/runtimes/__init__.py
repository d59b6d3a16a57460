"""Inference runtimes: plugins that load one ONNX file and run it, picked by config.

Each runtime is a file here, named in RUNTIMES under the `type` of its settings
(common.config's OnnxRuntimeSettings, OpenVinoSettings: the settings live in the config model
because central validates pushed configs against it). `auto` is not a runtime of its own: it
resolves to OpenVINO on x86 CPUs where it is installed, else ONNX Runtime. Runtime packages are
imported only when a session is opened, so a box without OpenVINO never needs it.
"""

from __future__ import annotations

import importlib
import platform
from pathlib import Path
from typing import Protocol

import numpy as np

from common.config import (
    AutoRuntimeSettings,
    OnnxRuntimeSettings,
    OpenVinoSettings,
    RuntimeSettings,
    runtime_settings,
)


class ModelLoadError(RuntimeError):
    """A model file is missing, unreadable or refused by the runtime."""


class InferenceSession(Protocol):
    """One loaded model: a single input tensor in, its output tensors out."""

    runtime: str
    input_name: str
    input_shape: tuple[int | str | None, ...]
    # Whether several threads may call run() at once (else the caller gives each its own session).
    thread_safe: bool

    def run(self, batch: np.ndarray) -> list[np.ndarray]: ...


class SessionFactory(Protocol):
    def __call__(self, path: Path, settings: RuntimeSettings) -> InferenceSession: ...


# runtime type -> "module:class" of its plugin; modules load when a session of theirs opens.
RUNTIMES: dict[str, str] = {
    "onnxruntime": "edge.inference.runtimes.onnx_runtime:OnnxRuntimeSession",
    "openvino": "edge.inference.runtimes.openvino_runtime:OpenVinoSession",
}


def runtime_class(name: str) -> SessionFactory:
    if name not in RUNTIMES:
        raise ValueError(f"unknown inference runtime {name!r}; choose from {sorted(RUNTIMES)}")
    module_name, class_name = RUNTIMES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)  # type: ignore[no-any-return]


def _openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_runtime(runtime: str | RuntimeSettings) -> OnnxRuntimeSettings | OpenVinoSettings:
    """The concrete runtime settings: `auto` takes OpenVINO on x86 Intel/AMD CPUs when installed."""
    settings = runtime_settings(runtime)
    if not isinstance(settings, AutoRuntimeSettings):
        if settings.type not in RUNTIMES:
            raise ValueError(f"unknown inference runtime {settings.type!r}; choose from {sorted(RUNTIMES)}")
        return settings
    if platform.machine().lower() in {"x86_64", "amd64"} and _openvino_available():
        return OpenVinoSettings(threads=settings.threads)
    return OnnxRuntimeSettings(threads=settings.threads)


def open_session(
    path: str | Path, runtime: str | RuntimeSettings = "auto", threads: int | None = None
) -> InferenceSession:
    """Load one ONNX model file with the chosen runtime (by name, or its settings)."""
    model_path = Path(path)
    if not model_path.is_file():
        raise ModelLoadError(f"model file not found: {model_path}")
    settings = resolve_runtime(runtime_settings(runtime, threads))
    return runtime_class(settings.type)(model_path, settings)
