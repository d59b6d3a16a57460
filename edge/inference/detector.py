"""The plate detector at run time: letterbox preprocessing, the ONNX model, and peak decoding.

Training-time evaluation and INT8 calibration import `prepare_detector_input` and
`decode_detections` from here, so every consumer of the model sees identical pixels and
identical decoding. The model (see `models/detector/net.py`) takes one grey channel in 0..1 at
DETECTOR_INPUT_HW and returns, on a grid at 1/8 of the input, centre-heatmap logits, log box
distances and normalised corner offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from common.config import RuntimeSettings
from edge.inference.protocols import PlateDetection
from edge.inference.runtimes import open_session

DETECTOR_INPUT_HW = (320, 416)  # fits 4:3 frames exactly; 16:9 frames get bands top and bottom
LETTERBOX_FILL = 114
# Chosen on the real RU dev photos (recall/precision trade-off); see models/MODEL_CARD.md.
DEFAULT_SCORE_THRESHOLD = 0.3
DEFAULT_NMS_IOU = 0.4
MAX_LOG_DISTANCE = 6.0


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into the input: input = frame * scale + (pad_x, pad_y)."""

    scale: float
    pad_x: int
    pad_y: int
    frame_hw: tuple[int, int]
    input_hw: tuple[int, int]


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A uint8 grey image from a BGR, BGRA or single-channel frame; clear errors for anything else."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError("frame must be a uint8 numpy array")
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[:, :, 0]
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"frame must be HxW, HxWx1, HxWx3 or HxWx4; got shape {frame.shape}")


def reduction_factor(frame_hw: tuple[int, int], input_hw: tuple[int, int] = DETECTOR_INPUT_HW) -> int:
    """The integer factor a frame can be area-averaged by and still cover the model input."""
    (fh, fw), (in_h, in_w) = frame_hw, input_hw
    return max(1, int(1.0 / min(in_w / fw, in_h / fh)))


def prepare_detector_input(
    frame: np.ndarray,
    input_hw: tuple[int, int] = DETECTOR_INPUT_HW,
    reduction: int = 1,
    frame_hw: tuple[int, int] | None = None,
) -> tuple[np.ndarray, Letterbox]:
    """The model input (1, 1, H, W) float32 in 0..1 for any frame size, and how to map back.

    `frame` may be a view of a larger frame already reduced by the integer `reduction` (one view
    pixel per reduction x reduction block, see Frame.gray_view); the letterbox then maps back to
    that full frame, whose size `frame_hw` gives.
    """
    gray = to_gray(frame)
    fh, fw = gray.shape
    if fh < 2 or fw < 2:
        raise ValueError(f"frame too small: {fw}x{fh}")
    if reduction < 1:
        raise ValueError(f"reduction must be a positive integer, got {reduction}")
    full_hw = frame_hw or (fh * reduction, fw * reduction)
    in_h, in_w = input_hw
    factor = reduction_factor((fh, fw), input_hw)
    if factor >= 2:
        # Area-average by an exact integer factor first (OpenCV's fast path, ~4x cheaper than a
        # fractional INTER_AREA on 1080p), then a small bilinear step; the dropped right/bottom
        # edge is under `factor` pixels.
        fh_used, fw_used = fh - fh % factor, fw - fw % factor
        gray = cv2.resize(gray[:fh_used, :fw_used], (fw_used // factor, fh_used // factor),
                          interpolation=cv2.INTER_AREA)
    else:
        fh_used, fw_used = fh, fw
    scale = min(in_w / fw_used, in_h / fh_used)
    new_w, new_h = max(1, min(in_w, round(fw_used * scale))), max(1, min(in_h, round(fh_used * scale)))
    interp = cv2.INTER_AREA if new_w < gray.shape[1] else cv2.INTER_LINEAR
    resized = cv2.resize(gray, (new_w, new_h), interpolation=interp)
    pad_x, pad_y = (in_w - new_w) // 2, (in_h - new_h) // 2
    canvas = np.full((in_h, in_w), LETTERBOX_FILL, np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    # One pass uint8 -> scaled float32 (same values as astype then multiply, which costs ~0.5 ms
    # more per frame in two large temporary arrays).
    tensor = np.multiply(canvas, np.float32(1.0 / 255.0), dtype=np.float32)[None, None]
    return tensor, Letterbox(
        scale=scale / reduction, pad_x=pad_x, pad_y=pad_y, frame_hw=full_hw, input_hw=(in_h, in_w)
    )


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Indices of the boxes kept, surest first: each box overlapping a surer kept one by more
    than `iou_threshold` is dropped."""
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        iy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        ix2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        iy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-6)
        order = rest[iou <= iou_threshold]
    return keep


def merged(detections: list[PlateDetection], iou_threshold: float) -> list[PlateDetection]:
    """Detections of one frame from several searches (tiles, turned copies) without repeats:
    each overlapping a surer one by more than `iou_threshold` is dropped; surest first."""
    if not detections:
        return []
    boxes = np.array([d.box for d in detections], dtype=np.float32)
    scores = np.array([d.score for d in detections], dtype=np.float32)
    return [detections[i] for i in nms(boxes, scores, iou_threshold)]


def decode_detections(
    heatmap: np.ndarray,
    box: np.ndarray,
    corners: np.ndarray,
    letterbox: Letterbox,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    nms_iou: float = DEFAULT_NMS_IOU,
    max_detections: int = 50,
) -> list[PlateDetection]:
    """Plates from one image's raw outputs: heatmap (1, h, w) logits, box (4, h, w), corners (8, h, w)."""
    logits = np.ascontiguousarray(heatmap.reshape(heatmap.shape[-2:]), dtype=np.float32)
    stride = letterbox.input_hw[1] / logits.shape[1]
    threshold_logit = float(np.log(score_threshold / (1.0 - score_threshold)))
    peaks = (logits >= cv2.dilate(logits, np.ones((3, 3), np.uint8))) & (logits > threshold_logit)
    ys, xs = np.nonzero(peaks)
    if ys.size == 0:
        return []
    if ys.size > 4 * max_detections:
        top = np.argsort(-logits[ys, xs])[: 4 * max_detections]
        ys, xs = ys[top], xs[top]
    scores = 1.0 / (1.0 + np.exp(-logits[ys, xs]))
    cx = (xs.astype(np.float32) + 0.5) * stride
    cy = (ys.astype(np.float32) + 0.5) * stride
    dist = np.exp(np.minimum(box[:, ys, xs], MAX_LOG_DISTANCE)) * stride
    boxes = np.stack([cx - dist[0], cy - dist[1], cx + dist[2], cy + dist[3]], axis=1)
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    offsets = corners[:, ys, xs].T.reshape(-1, 4, 2)
    pts = np.stack(
        [cx[:, None] + offsets[:, :, 0] * bw[:, None], cy[:, None] + offsets[:, :, 1] * bh[:, None]], axis=2
    )
    # back to frame pixels
    shift = np.array([letterbox.pad_x, letterbox.pad_y], np.float32)
    boxes = (boxes - np.tile(shift, 2)) / letterbox.scale
    pts = (pts - shift) / letterbox.scale
    fh, fw = letterbox.frame_hw
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, fw)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, fh)
    valid = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
    idx = np.nonzero(valid)[0]
    keep = idx[nms(boxes[idx], scores[idx], nms_iou)][:max_detections]
    return [
        PlateDetection(
            box=(float(boxes[k, 0]), float(boxes[k, 1]), float(boxes[k, 2]), float(boxes[k, 3])),
            score=float(scores[k]),
            corners=pts[k].astype(np.float32),
        )
        for k in keep
    ]


class OnnxPlateDetector:
    """`PlateDetector` over the shipped ONNX model (FP32 or INT8) on ONNX Runtime or OpenVINO."""

    def __init__(
        self,
        model_path: str | Path,
        runtime: str | RuntimeSettings = "auto",
        threads: int | None = None,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        nms_iou: float = DEFAULT_NMS_IOU,
    ) -> None:
        if not 0.0 < score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in (0, 1), got {score_threshold}")
        self._session = open_session(model_path, runtime, threads)
        shape = self._session.input_shape
        if len(shape) != 4 or not all(isinstance(d, int) for d in shape[2:]):
            raise ValueError(f"detector model needs a fixed (1, 1, H, W) input, got {shape}")
        self.input_hw = (int(shape[2]), int(shape[3]))  # type: ignore[arg-type]
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.runtime = self._session.runtime
        self.thread_safe = self._session.thread_safe

    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        return self._run(*prepare_detector_input(frame, self.input_hw))

    def view_factor(self, frame_hw: tuple[int, int]) -> int:
        """How much a frame of this size may be reduced before `detect_view` (see Frame.gray_view)."""
        return reduction_factor(frame_hw, self.input_hw)

    def detect_view(
        self, view: np.ndarray, reduction: int, frame_hw: tuple[int, int]
    ) -> list[PlateDetection]:
        """Plates in a frame of size `frame_hw`, found in its grey view reduced by `reduction`.

        Same pixels into the model as `detect` on the full frame when the view is an area average
        by `view_factor`, without converting and shrinking the full frame; boxes are in frame pixels.
        """
        return self._run(*prepare_detector_input(view, self.input_hw, reduction, frame_hw))

    def _run(self, tensor: np.ndarray, letterbox: Letterbox) -> list[PlateDetection]:
        heatmap, box, corners = self._session.run(tensor)
        return decode_detections(
            heatmap[0], box[0], corners[0], letterbox, self.score_threshold, self.nms_iou
        )
