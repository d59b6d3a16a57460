"""ONNX Runtime on the CPU: the runtime every box has."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.config import OnnxRuntimeSettings
from edge.inference.runtimes import ModelLoadError


class OnnxRuntimeSession:
    runtime = "onnxruntime"
    thread_safe = True  # ONNX Runtime sessions may run from many threads at once

    def __init__(self, path: Path, settings: OnnxRuntimeSettings) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = settings.threads
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
