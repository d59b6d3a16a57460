"""Intel's OpenVINO: usually the faster runtime on x86 CPUs, for the same ONNX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.config import OpenVinoSettings
from edge.inference.runtimes import ModelLoadError


class OpenVinoSession:
    runtime = "openvino"
    thread_safe = False  # one infer request serves one caller at a time

    def __init__(self, path: Path, settings: OpenVinoSettings) -> None:
        import openvino as ov

        core = ov.Core()
        try:
            model = core.read_model(str(path))
            config = {
                "INFERENCE_NUM_THREADS": settings.threads, "PERFORMANCE_HINT": settings.performance_hint
            }
            self._compiled = core.compile_model(model, settings.device, config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses without a common base
            raise ModelLoadError(f"OpenVINO cannot load {path} on {settings.device}: {exc}") from exc
        model_input = self._compiled.inputs[0]
        self.input_name = model_input.get_any_name()
        partial = model_input.get_partial_shape()
        self.input_shape = tuple(d.get_length() if d.is_static else None for d in partial)
        self._request = self._compiled.create_infer_request()

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        results = self._request.infer({0: batch})
        return [np.asarray(results[out]) for out in self._compiled.outputs]
