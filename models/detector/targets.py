"""Training targets from plate labels: TTFNet-style elliptical Gaussian heatmaps and dense regression.

Every cell near a plate centre (inside its Gaussian core) regresses that plate's box and
corners, weighted by the Gaussian, so a small plate still trains several cells per step and
the network learns faster than with centre-only CenterNet targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.detector.net import STRIDE

GAUSS_ALPHA = 0.54  # Gaussian sigma = alpha * size / 6, as in TTFNet
REGRESSION_CORE = 0.3  # cells with Gaussian value above this regress the box and corners
MIN_SIGMA_CELLS = 0.35


@dataclass(frozen=True)
class DetectorTargets:
    heatmap: np.ndarray  # float32 (1, h, w): 1 at plate centres, Gaussian around them
    boxes: np.ndarray  # float32 (4, h, w): x1, y1, x2, y2 of the plate each cell regresses
    corners: np.ndarray  # float32 (8, h, w): TL, TR, BR, BL corners (x, y) in input pixels
    weight: np.ndarray  # float32 (1, h, w): regression weight; each plate's weights sum to 1


def cell_centres(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Input-pixel coordinates of the output cells' centres: (xs (1, w), ys (h, 1))."""
    xs = (np.arange(w, dtype=np.float32) + 0.5) * STRIDE
    ys = (np.arange(h, dtype=np.float32) + 0.5) * STRIDE
    return xs[None, :], ys[:, None]


def build_targets(boxes: np.ndarray, corners: np.ndarray, input_hw: tuple[int, int]) -> DetectorTargets:
    """Targets for one image of size `input_hw` with plates `boxes` (N, 4) and `corners` (N, 4, 2)."""
    h, w = input_hw[0] // STRIDE, input_hw[1] // STRIDE
    heatmap = np.zeros((1, h, w), np.float32)
    box_t = np.zeros((4, h, w), np.float32)
    corner_t = np.zeros((8, h, w), np.float32)
    weight = np.zeros((1, h, w), np.float32)
    xs, ys = cell_centres(h, w)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in np.argsort(-areas):  # small plates last, so they own the cells they share
        x1, y1, x2, y2 = boxes[i]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        sx = max(GAUSS_ALPHA * (x2 - x1) / 6 / STRIDE, MIN_SIGMA_CELLS) * STRIDE
        sy = max(GAUSS_ALPHA * (y2 - y1) / 6 / STRIDE, MIN_SIGMA_CELLS) * STRIDE
        gauss = np.exp(-((xs - cx) ** 2) / (2 * sx**2) - ((ys - cy) ** 2) / (2 * sy**2)).astype(np.float32)
        peak_y, peak_x = min(int(cy // STRIDE), h - 1), min(int(cx // STRIDE), w - 1)
        gauss /= gauss[peak_y, peak_x]  # the cell holding the centre is exactly 1: the positive
        gauss = np.minimum(gauss, 0.999)  # a centre on a cell border must not make two positives
        gauss[peak_y, peak_x] = 1.0
        np.maximum(heatmap[0], gauss, out=heatmap[0])
        core = gauss > REGRESSION_CORE
        box_t[:, core] = boxes[i][:, None]
        corner_t[:, core] = corners[i].reshape(8)[:, None]
        weight[0, core] = gauss[core] / gauss[core].sum()
    return DetectorTargets(heatmap, box_t, corner_t, weight)
