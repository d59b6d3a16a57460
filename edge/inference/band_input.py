"""The band reader's input: the left end of a plate crop, where an EU plate shows its country band.

Training (models/band) and the runtime both call these functions, so what the network sees never
differs between them. The band is about 8 % of a one-row plate's width (42 of 520 mm) and the
reader's crops add up to 8 % of margin on each side, so the left `BAND_FRACTION` of the crop holds
the whole band with room for a loose box or a corner estimate a few % off.

The patch is cut in colour; the model's input says whether it wants it grey (1 channel) or BGR
(3). The shipped model is grey: trained alike, grey learned faster on synthetic plates and read
real bands as well end to end, and a camera's colour cast (the eu-dev RO photos turn the blue
band red) cannot mislead it (models/MODEL_CARD.md has the figures).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edge.inference.reader_input import check_crop

BAND_HEIGHT = 32
BAND_WIDTH = 24
# Share of the crop's width, from its left edge, that the band reader looks at.
BAND_FRACTION = 0.2
# The same share is looked at again this far in (`OnnxBandReader` keeps the surer band). A
# detector box often runs wider than the plate on the left (eu-dev PL SK971JF: 13 % of its width),
# and a band that far in falls out of the patch the model was trained on (margins up to 8 %):
# SK971JF reads PL at 0.85 on its labelled box and no band on the detector's. On eu-dev with
# every country on, the second patch 8 % in takes the wrong country from 16 to 13 (OpenVINO) and
# 15 to 11 (ONNX Runtime) of ~303 valid readings, ru-dev unchanged. Tried first as a separate
# batch cut at int(): 8 % in gave 12 and 9; 5 %: 18 and 12; 10 %: 15 and 10; 12 %: 15 and 13.
BAND_SECOND_LOOK_SKIP = 0.08
# The class of crops that show no EU band (a flag band, no band, not a plate).
NO_BAND = ""
# A flat patch (blank, blown out) is not stretched into noise.
MIN_STD = 8.0


def band_patch(crop: np.ndarray, skip: float = 0.0) -> np.ndarray:
    """uint8 (BAND_HEIGHT, BAND_WIDTH, 3) BGR patch of the crop's left end, before normalisation;
    `skip`: the patch starts this share of the crop's width in from its left edge."""
    check_crop(crop)
    if skip:
        crop = crop[:, min(crop.shape[1] - 2, round(crop.shape[1] * skip)) :]
    bgr = (
        crop
        if crop.ndim == 3 and crop.shape[2] == 3
        else cv2.cvtColor(crop.reshape(crop.shape[0], crop.shape[1]), cv2.COLOR_GRAY2BGR)
    )
    left = bgr[:, : max(2, round(bgr.shape[1] * BAND_FRACTION))]
    interp = cv2.INTER_AREA if left.shape[1] > BAND_WIDTH else cv2.INTER_LINEAR
    return cv2.resize(left, (BAND_WIDTH, BAND_HEIGHT), interpolation=interp)


def band_patches(crops: Sequence[np.ndarray], skip: float = 0.0) -> np.ndarray:
    """uint8 (N, BAND_HEIGHT, BAND_WIDTH, 3) patches of the crops (`skip`: see `band_patch`)."""
    if len(crops) == 0:
        return np.zeros((0, BAND_HEIGHT, BAND_WIDTH, 3), np.uint8)
    return np.stack([band_patch(crop, skip) for crop in crops])


def normalise_patches(patches: np.ndarray, channels: int = 3) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, channels, H, W) float32, standardised per patch over all channels
    at once (exposure-invariant, while blue stays bluer than the rest). `channels` 1 gives grey."""
    if channels not in (1, 3):
        raise ValueError(f"a band patch has 1 or 3 channels, not {channels}")
    x = patches.astype(np.float32)
    if channels == 1:
        # cv2's BGR->grey weights, so a grey model sees what the reader's grey crops show.
        x = x @ np.array([[0.114], [0.587], [0.299]], np.float32)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2, 3), keepdims=True), MIN_STD)
    return np.ascontiguousarray(((x - mean) / std).transpose(0, 3, 1, 2))
