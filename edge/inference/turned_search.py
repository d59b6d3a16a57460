"""Still photos where nothing sure was read: the detector looks again at the photo turned a little
each way.

The detector was trained on plates rolled a few degrees with the car (and crooked ones up to 25
deg), but its score on a plate at a steep view in a close-up is fickle: eu-dev's W 178 JZ, read
at 0.94 from its labelled box, gives no box at all in the upright photo and one at 0.39 (IoU
0.84) with the photo turned 12 deg. Boxes found in a turned photo are turned back, corners and
all, so the reader reads the plate from the upright photo, rectified by its corners as usual.

On eu-dev (every country on), with the finer search's and this search's sure readings taking
the place of unsure ones of the same box (`edge.recognize.surer_of_each`): ONNX Runtime 94.2 ->
94.9 % of 312 plates, OpenVINO 93.3 -> 94.2 % (W 178 JZ among them); ru-dev read the same.
Turning 5 or 8 deg found only W 178 JZ (OpenVINO), and 6 and 12 together no more than 12 alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from edge.inference.detector import merged
from edge.inference.protocols import PlateDetection, PlateDetector, ViewPlateDetector
from edge.inference.tiles import MERGE_IOU

# Each way from upright; both together cost two detector passes on a photo that has none sure
# (9 % of eu-dev's photos, 2 % of ru-dev's).
TURN_DEGREES = (-12.0, 12.0)


def turned(frame: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The frame turned `degrees` counter-clockwise on a canvas that holds all of it (edges
    repeated into the corners), and the 2x3 affine map from frame to turned pixels."""
    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(math.cos(math.radians(degrees))), abs(math.sin(math.radians(degrees)))
    new_w, new_h = math.ceil(width * cos + height * sin), math.ceil(width * sin + height * cos)
    matrix[0, 2] += (new_w - width) / 2
    matrix[1, 2] += (new_h - height) / 2
    image = cv2.warpAffine(
        frame, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return image, matrix


def turned_back(detection: PlateDetection, matrix: np.ndarray, frame_hw: tuple[int, int]) -> PlateDetection:
    """A detection of the turned frame in the upright frame's pixels: its corners mapped back,
    and the box around them (or around the turned box's corners, for a detector without corners)."""
    back = cv2.invertAffineTransform(matrix)
    x1, y1, x2, y2 = detection.box
    points = detection.corners if detection.corners is not None else np.array(
        [[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32
    )
    mapped = (np.asarray(points, np.float64) @ back[:, :2].T + back[:, 2]).astype(np.float32)
    height, width = frame_hw
    box = (
        float(max(0.0, mapped[:, 0].min())), float(max(0.0, mapped[:, 1].min())),
        float(min(width, mapped[:, 0].max())), float(min(height, mapped[:, 1].max())),
    )
    return PlateDetection(box, detection.score, mapped if detection.corners is not None else None)


def detect_turned(
    detector: PlateDetector, frame: np.ndarray, degrees: Sequence[float] = TURN_DEGREES
) -> list[PlateDetection]:
    """The plates the detector finds in the frame turned each of `degrees`, in upright-frame
    pixels, merged by NMS; surest first. A detector that says how far it shrinks a frame gets the
    frame shrunk half that far before it is turned, so a 12 MP photo costs no 12 MP turned copies
    while the detector's own area reduction still comes last (shrunk all the way, the turned
    photo reached the model through a coarser bilinear step, and eu-dev read a plate less)."""
    frame_hw = (int(frame.shape[0]), int(frame.shape[1]))
    factor = detector.view_factor(frame_hw) // 2 if isinstance(detector, ViewPlateDetector) else 1
    small = frame
    if factor > 1:
        size = (max(1, frame_hw[1] // factor), max(1, frame_hw[0] // factor))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    found: list[PlateDetection] = []
    for angle in degrees:
        image, matrix = turned(small, angle)
        from_frame = matrix.copy()  # frame pixels -> small pixels -> turned pixels
        from_frame[:, 0] *= small.shape[1] / frame_hw[1]
        from_frame[:, 1] *= small.shape[0] / frame_hw[0]
        found += [turned_back(d, from_frame, frame_hw) for d in detector.detect(image)]
    return merged([d for d in found if d.box[2] > d.box[0] and d.box[3] > d.box[1]], MERGE_IOU)
