"""Detector loss: focal loss on the centre heatmap, GIoU on boxes, L1 on normalised corners."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from models.detector.net import STRIDE

BOX_WEIGHT = 5.0
CORNER_WEIGHT = 2.0
MAX_LOG_DISTANCE = 6.0  # exp(6) * 4 px ~ 1600 px: clamps wild early predictions


def centre_grid(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * STRIDE
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * STRIDE
    return xs.view(1, 1, w).expand(1, h, w), ys.view(1, h, 1).expand(1, h, w)


def decode_boxes(box_logits: torch.Tensor) -> torch.Tensor:
    """(B, 4, h, w) log-distances -> (B, 4, h, w) x1, y1, x2, y2 in input pixels."""
    _, _, h, w = box_logits.shape
    xs, ys = centre_grid(h, w, box_logits.device)
    dist = torch.exp(box_logits.clamp(max=MAX_LOG_DISTANCE)) * STRIDE
    return torch.stack([xs - dist[:, 0], ys - dist[:, 1], xs + dist[:, 2], ys + dist[:, 3]], dim=1)


def decode_corners(corner_out: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(B, 8, h, w) normalised offsets -> corner pixels, using each cell's decoded box size."""
    _, _, h, w = corner_out.shape
    xs, ys = centre_grid(h, w, corner_out.device)
    bw = (boxes[:, 2] - boxes[:, 0]).unsqueeze(1)
    bh = (boxes[:, 3] - boxes[:, 1]).unsqueeze(1)
    cx = xs.unsqueeze(1) + corner_out[:, 0::2] * bw
    cy = ys.unsqueeze(1) + corner_out[:, 1::2] * bh
    return torch.stack([cx, cy], dim=2).flatten(1, 2)


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, summed and divided by the number of plates."""
    prob = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1.0).float()
    neg = 1.0 - pos
    pos_loss = -torch.log(prob) * (1 - prob) ** 2 * pos
    neg_loss = -torch.log(1 - prob) * prob**2 * (1 - target) ** 4 * neg
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-element 1 - GIoU for (N, 4) x1, y1, x2, y2 boxes."""
    ix1, iy1 = torch.max(pred[:, 0], target[:, 0]), torch.max(pred[:, 1], target[:, 1])
    ix2, iy2 = torch.min(pred[:, 2], target[:, 2]), torch.min(pred[:, 3], target[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    union = area_p + area_t - inter
    ex1, ey1 = torch.min(pred[:, 0], target[:, 0]), torch.min(pred[:, 1], target[:, 1])
    ex2, ey2 = torch.max(pred[:, 2], target[:, 2]), torch.max(pred[:, 3], target[:, 3])
    enclose = (ex2 - ex1) * (ey2 - ey1)
    iou = inter / union.clamp(min=1e-6)
    return 1.0 - (iou - (enclose - union) / enclose.clamp(min=1e-6))


def detector_loss(
    outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    heatmap: torch.Tensor, boxes: torch.Tensor, corners: torch.Tensor, weight: torch.Tensor,
) -> dict[str, torch.Tensor]:
    heat_logits, box_logits, corner_out = outputs
    n_plates = weight.sum().clamp(min=1.0)  # each plate's weights sum to 1
    heat = focal_loss(heat_logits, heatmap)
    mask = weight[:, 0] > 0
    if mask.any():
        pred_boxes = decode_boxes(box_logits)
        pb = pred_boxes.permute(0, 2, 3, 1)[mask]
        tb = boxes.permute(0, 2, 3, 1)[mask]
        wt = weight[:, 0][mask]
        box = (giou_loss(pb, tb) * wt).sum() / n_plates
        # corners relative to the *target* box size, so corner and box errors do not compound
        size = torch.stack([tb[:, 2] - tb[:, 0], tb[:, 3] - tb[:, 1]], dim=1).clamp(min=1.0).repeat(1, 4)
        _, _, h, w = corner_out.shape
        xs, ys = centre_grid(h, w, corner_out.device)
        centre = torch.stack([xs, ys], dim=1).expand(corner_out.shape[0], 2, h, w).repeat(1, 4, 1, 1)
        target_norm = (corners - centre).permute(0, 2, 3, 1)[mask] / size
        pred_norm = corner_out.permute(0, 2, 3, 1)[mask]
        corner = (F.smooth_l1_loss(pred_norm, target_norm, reduction="none", beta=0.05).sum(1) * wt).sum()
        corner = corner / n_plates
    else:
        box = corner = heat_logits.sum() * 0.0
    total = heat + BOX_WEIGHT * box + CORNER_WEIGHT * corner
    return {"total": total, "heatmap": heat, "box": box, "corners": corner}
