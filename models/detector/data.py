"""Training batches from a pool of synthetic scenes that is partly renewed every step.

Rendering a scene costs about as much as a training step on a few of them, and the machine
gives training one core, so a pool of pre-rendered scenes is reused while a few fresh ones
replace random members each step. Scene `i` is always drawn from seed (seed, i), so a resumed
run rebuilds exactly the pool it had.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.detector.targets import DetectorTargets, build_targets
from models.synth.scenes import PlateSource, Scene, SceneConfig, render_scene


@dataclass(frozen=True)
class Sample:
    gray: np.ndarray  # uint8 (H, W)
    targets: DetectorTargets


def scene_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def make_sample(scene: Scene) -> Sample:
    gray = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY)
    return Sample(gray, build_targets(scene.boxes, scene.corners, gray.shape[:2]))


class ScenePool:
    def __init__(self, plate_source: PlateSource, cfg: SceneConfig, seed: int, size: int,
                 next_index: int = 0) -> None:
        self._source, self._cfg, self._seed = plate_source, cfg, seed
        start = max(0, next_index - size)
        self.next_index = start
        self._samples = [self._render() for _ in range(size)]
        self._pick = np.random.default_rng([seed, 1 << 30, next_index])

    def _render(self) -> Sample:
        sample = make_sample(render_scene(scene_rng(self._seed, self.next_index), self._source, self._cfg))
        self.next_index += 1
        return sample

    def refresh(self, count: int) -> None:
        for slot in self._pick.choice(len(self._samples), size=count, replace=False):
            self._samples[int(slot)] = self._render()

    def batch(self, size: int) -> dict[str, np.ndarray]:
        chosen = self._pick.choice(len(self._samples), size=size, replace=False)
        picked = [self._samples[int(i)] for i in chosen]
        return {
            "image": np.stack([s.gray for s in picked])[:, None].astype(np.float32) / 255.0,
            "heatmap": np.stack([s.targets.heatmap for s in picked]),
            "boxes": np.stack([s.targets.boxes for s in picked]),
            "corners": np.stack([s.targets.corners for s in picked]),
            "weight": np.stack([s.targets.weight for s in picked]),
        }
