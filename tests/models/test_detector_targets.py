"""Detector targets and loss: the centre cell is the positive, regression is dense near centres,
and the box decoding used in training inverts the targets."""

from __future__ import annotations

import numpy as np
import torch

from models.detector.loss import decode_boxes, detector_loss
from models.detector.net import STRIDE, PlateDetectorNet
from models.detector.targets import build_targets


def _plate(x1: float, y1: float, x2: float, y2: float) -> tuple[np.ndarray, np.ndarray]:
    box = np.array([[x1, y1, x2, y2]], np.float32)
    corners = np.array([[[x1, y1], [x2, y1], [x2, y2], [x1, y2]]], np.float32)
    return box, corners


def test_centre_cell_is_the_only_positive_and_weights_sum_to_one_per_plate() -> None:
    boxes_a, corners_a = _plate(40, 50, 120, 70)
    boxes_b, corners_b = _plate(150, 150, 170, 155)  # a small far plate
    t = build_targets(np.concatenate([boxes_a, boxes_b]), np.concatenate([corners_a, corners_b]), (224, 224))
    assert t.heatmap.shape == (1, 224 // STRIDE, 224 // STRIDE)
    assert t.heatmap.max() == 1.0 and t.heatmap.min() >= 0.0
    assert (t.heatmap == 1.0).sum() == 2
    assert t.heatmap[0, int(60 // STRIDE), int(80 // STRIDE)] == 1.0
    assert t.heatmap[0, int(152.5 // STRIDE), int(160 // STRIDE)] == 1.0
    assert t.weight.sum() == np.float32(2.0) or abs(float(t.weight.sum()) - 2.0) < 1e-4
    assert (t.weight > 0).sum() > 2  # the large plate trains several cells
    np.testing.assert_allclose(t.boxes[:, int(60 // STRIDE), int(80 // STRIDE)], boxes_a[0])


def test_plate_less_scene_has_no_positives() -> None:
    t = build_targets(np.zeros((0, 4), np.float32), np.zeros((0, 4, 2), np.float32), (160, 224))
    assert t.heatmap.max() == 0.0 and t.weight.sum() == 0.0


def test_decoding_the_target_distances_gives_the_target_box() -> None:
    boxes, corners = _plate(40, 50, 120, 70)
    t = build_targets(boxes, corners, (224, 224))
    ys, xs = np.nonzero(t.weight[0])
    cx, cy = (xs + 0.5) * STRIDE, (ys + 0.5) * STRIDE
    dist = np.stack([cx - 40, cy - 50, 120 - cx, 70 - cy])
    logits = torch.zeros(1, 4, 28, 28)
    logits[0, :, ys, xs] = torch.from_numpy(np.log(dist / STRIDE).astype(np.float32))
    decoded = decode_boxes(logits)[0, :, ys, xs].numpy().T
    np.testing.assert_allclose(decoded, np.repeat(boxes, len(ys), axis=0), atol=1e-3)


def test_loss_is_finite_and_falls_when_fitting_one_scene() -> None:
    torch.set_num_threads(1)  # several spinning threads on a busy 2-core machine are far slower
    torch.manual_seed(0)
    boxes, corners = _plate(20, 40, 76, 52)
    t = build_targets(boxes, corners, (96, 96))
    image = np.full((1, 1, 96, 96), 0.3, np.float32)
    image[0, 0, 40:52, 20:76] = 0.95
    batch = [torch.from_numpy(a[None]) for a in (t.heatmap, t.boxes, t.corners, t.weight)]
    model = PlateDetectorNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(25):
        loss = detector_loss(model(torch.from_numpy(image)), *batch)["total"]
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else float(loss.detach())
    assert float(loss.detach()) < 0.5 * first
