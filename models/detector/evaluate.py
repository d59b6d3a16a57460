"""Detector evaluation on a fixed synthetic test set, through the runtime's own pre/post-processing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge.inference.detector import DETECTOR_INPUT_HW, decode_detections, prepare_detector_input
from edge.inference.protocols import PlateDetection
from models.metrics import DetectionScore
from models.synth.scenes import PlateSource, Scene, SceneConfig, render_scene

SYNTH_TEST_SEED = 20_261_128  # fixed: the synthetic test set is the same for every run and model
RawOutputs = tuple[np.ndarray, np.ndarray, np.ndarray]
RunModel = Callable[[np.ndarray], RawOutputs]


def synthetic_test_set(
    plate_source: PlateSource, count: int = 300, seed: int = SYNTH_TEST_SEED
) -> list[Scene]:
    """Scenes at the detector's own input size (no letterbox needed), from a seed no training run uses."""
    cfg = SceneConfig(height=DETECTOR_INPUT_HW[0], width=DETECTOR_INPUT_HW[1])
    return [render_scene(np.random.default_rng([seed, i]), plate_source, cfg) for i in range(count)]


def detect_with(run: RunModel, frame: np.ndarray, score_threshold: float) -> list[PlateDetection]:
    tensor, letterbox = prepare_detector_input(frame)
    heatmap, box, corners = run(tensor)
    return decode_detections(heatmap[0], box[0], corners[0], letterbox, score_threshold)


@dataclass
class SyntheticResult:
    score: DetectionScore
    mean_corner_error_px: float
    seconds_per_scene: float


def evaluate_synthetic(run: RunModel, scenes: list[Scene], score_threshold: float) -> SyntheticResult:
    score = DetectionScore()
    corner_errors: list[float] = []
    start = time.perf_counter()
    for scene in scenes:
        found = detect_with(run, scene.image, score_threshold)
        truth = [tuple(float(v) for v in b) for b in scene.boxes]
        matched = score.add(truth, [d.box for d in found])  # type: ignore[arg-type]
        for ti, pi in enumerate(matched):
            if pi is not None and found[pi].corners is not None:
                diff = found[pi].corners - scene.corners[ti]  # type: ignore[operator]
                corner_errors.append(float(np.linalg.norm(diff, axis=1).mean()))
    elapsed = time.perf_counter() - start
    return SyntheticResult(score, float(np.mean(corner_errors)) if corner_errors else float("nan"),
                           elapsed / max(len(scenes), 1))
