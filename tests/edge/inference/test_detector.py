"""Detector runtime: letterbox preprocessing for any frame, decoding of raw outputs, the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from edge.inference.detector import (
    DETECTOR_INPUT_HW,
    LETTERBOX_FILL,
    Letterbox,
    OnnxPlateDetector,
    decode_detections,
    prepare_detector_input,
    reduction_factor,
)
from edge.inference.protocols import PlateDetector
from edge.inference.weights import DETECTOR_FP32, DETECTOR_INT8
from models.metrics import iou

needs_font = pytest.mark.plate_font


def test_1080p_frame_is_letterboxed_with_bands_top_and_bottom() -> None:
    frame = np.full((1080, 1920, 3), 200, np.uint8)
    tensor, box = prepare_detector_input(frame)
    assert tensor.shape == (1, 1, *DETECTOR_INPUT_HW) and tensor.dtype == np.float32
    assert box.scale == pytest.approx(416 / 1920)
    assert box.pad_x == 0 and box.pad_y == (320 - 234) // 2
    assert tensor[0, 0, 0, 0] == pytest.approx(LETTERBOX_FILL / 255)  # band
    assert tensor[0, 0, 160, 208] == pytest.approx(200 / 255, abs=1e-3)  # picture


@pytest.mark.parametrize("shape", [(480, 640), (480, 640, 1), (480, 640, 3), (480, 640, 4), (1200, 300, 3)])
def test_grey_colour_and_portrait_frames_are_accepted(shape: tuple[int, ...]) -> None:
    tensor, box = prepare_detector_input(np.zeros(shape, np.uint8))
    assert tensor.shape == (1, 1, *DETECTOR_INPUT_HW)
    assert box.frame_hw == shape[:2]


@pytest.mark.parametrize(
    "bad", [np.zeros((10, 10, 2), np.uint8), np.zeros((10, 10), np.float32), np.zeros((1, 5), np.uint8)]
)
def test_bad_frames_get_a_clear_error(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        prepare_detector_input(bad)


def _raw_outputs_with_one_plate(
    cell: tuple[int, int], dist_px: tuple[float, float, float, float], stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = DETECTOR_INPUT_HW[0] // stride, DETECTOR_INPUT_HW[1] // stride
    heat = np.full((1, h, w), -8.0, np.float32)
    heat[0, cell[0], cell[1]] = 3.0
    heat[0, cell[0], cell[1] + 1] = 1.0  # a weaker neighbour is not a second plate
    box = np.zeros((4, h, w), np.float32)
    box[:, cell[0], cell[1]] = np.log(np.array(dist_px) / stride)
    corners = np.zeros((8, h, w), np.float32)
    corners[:, cell[0], cell[1]] = [-0.5, -0.5, 0.5, -0.5, 0.5, 0.5, -0.5, 0.5]
    return heat, box, corners


def test_decoding_maps_a_peak_back_to_frame_pixels() -> None:
    stride = 8
    _, letterbox = prepare_detector_input(np.zeros((1080, 1920, 3), np.uint8))
    heat, box, corners = _raw_outputs_with_one_plate((20, 26), (30.0, 5.0, 30.0, 5.0), stride)
    found = decode_detections(heat, box, corners, letterbox, score_threshold=0.5)
    assert len(found) == 1
    cx, cy = (26 + 0.5) * stride, (20 + 0.5) * stride  # input pixels
    expect = np.array([cx - 30, cy - 5, cx + 30, cy + 5], np.float64)
    expect[[0, 2]] = (expect[[0, 2]] - letterbox.pad_x) / letterbox.scale
    expect[[1, 3]] = (expect[[1, 3]] - letterbox.pad_y) / letterbox.scale
    np.testing.assert_allclose(found[0].box, expect, rtol=1e-4)
    assert found[0].score == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert found[0].corners is not None
    np.testing.assert_allclose(found[0].corners[0], expect[:2], rtol=1e-4)
    np.testing.assert_allclose(found[0].corners[2], expect[2:], rtol=1e-4)


def test_decoding_respects_the_score_threshold() -> None:
    letterbox = Letterbox(scale=1.0, pad_x=0, pad_y=0, frame_hw=DETECTOR_INPUT_HW, input_hw=DETECTOR_INPUT_HW)
    heat, box, corners = _raw_outputs_with_one_plate((10, 10), (20.0, 4.0, 20.0, 4.0), 8)
    assert decode_detections(heat, box, corners, letterbox, score_threshold=0.97) == []
    assert len(decode_detections(heat, box, corners, letterbox, score_threshold=0.9)) == 1


def test_overlapping_peaks_are_merged_by_nms() -> None:
    letterbox = Letterbox(scale=1.0, pad_x=0, pad_y=0, frame_hw=DETECTOR_INPUT_HW, input_hw=DETECTOR_INPUT_HW)
    heat, box, corners = _raw_outputs_with_one_plate((10, 10), (40.0, 8.0, 40.0, 8.0), 8)
    heat[0, 10, 11] = -8.0
    heat[0, 10, 12] = 2.0  # a second peak two cells away describing nearly the same plate
    box[:, 10, 12] = np.log(np.array([56.0, 8.0, 24.0, 8.0]) / 8)
    found = decode_detections(heat, box, corners, letterbox, score_threshold=0.5)
    assert len(found) == 1 and found[0].score == pytest.approx(1 / (1 + np.exp(-3.0)))


@needs_font
@pytest.mark.parametrize("path", [DETECTOR_FP32, DETECTOR_INT8], ids=["fp32", "int8"])
@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_shipped_model_finds_the_plate_in_a_synthetic_frame(path, backend: str) -> None:  # type: ignore[no-untyped-def]
    from models.synth.scene_plates import RenderedPlateSource
    from models.synth.scenes import SceneConfig, render_scene

    detector: PlateDetector = OnnxPlateDetector(path, runtime=backend, threads=1)
    cfg = SceneConfig(height=480, width=640, empty_scene_rate=0.0, close_up_rate=1.0, min_plate_width=60)
    hits = 0
    for seed in range(4):
        scene = render_scene(np.random.default_rng([99, seed]), RenderedPlateSource(), cfg)
        found = detector.detect(scene.image)
        for truth in scene.boxes:
            hits += any(iou(tuple(float(v) for v in truth), d.box) > 0.5 for d in found)  # type: ignore[arg-type]
    assert hits >= 3


def test_calibration_uses_the_runtime_preprocessing() -> None:
    from models.quantize import calibration_preprocessor

    detector_calibration_batch = calibration_preprocessor("detector")
    frames = [np.random.default_rng(i).integers(0, 255, (480 + 100 * i, 640, 3), dtype=np.uint8)
              for i in range(2)]
    batch = detector_calibration_batch(frames)
    assert batch.shape == (2, 1, *DETECTOR_INPUT_HW)
    for frame, row in zip(frames, batch, strict=True):
        np.testing.assert_array_equal(row[None], prepare_detector_input(frame)[0])


def test_a_reduced_grey_view_gives_the_same_model_input_as_the_full_frame() -> None:
    from edge.capture import Frame

    frame = np.random.default_rng(3).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    full_tensor, full_box = prepare_detector_input(frame)
    factor = reduction_factor(frame.shape[:2])
    view, reduction = Frame("c", 0, None, 0.0, frame).gray_view(factor)  # type: ignore[arg-type]
    tensor, box = prepare_detector_input(view, DETECTOR_INPUT_HW, reduction, frame.shape[:2])
    assert reduction == factor == 4 and view.shape == (270, 480)
    np.testing.assert_array_equal(tensor, full_tensor)
    assert box == full_box


@needs_font
@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_detection_from_a_jpeg_view_matches_detection_on_the_full_frame(backend: str) -> None:
    import cv2

    from edge.capture import Frame
    from models.synth.scene_plates import RenderedPlateSource
    from models.synth.scenes import SceneConfig, render_scene

    # The JPEG view is libjpeg's scaled decode, not an exact area average, so a box scored near a
    # threshold may fall on either side of it: every clear box (>= 0.4) of one must be in the
    # other's boxes at 0.2.
    detector = OnnxPlateDetector(DETECTOR_INT8, runtime=backend, threads=1, score_threshold=0.2)
    cfg = SceneConfig(height=480, width=640, empty_scene_rate=0.0, close_up_rate=1.0, min_plate_width=60)
    clear = hits = 0
    for seed in range(4):
        scene = render_scene(np.random.default_rng([99, seed]), RenderedPlateSource(), cfg)
        image = cv2.resize(scene.image, (1920, 1440), interpolation=cv2.INTER_LINEAR)  # a 4:3 camera
        frame = Frame("c", 0, None, 0.0, jpeg=cv2.imencode(".jpg", image)[1].tobytes())  # type: ignore[arg-type]
        view, reduction = frame.gray_view(detector.view_factor(frame.hw))
        from_view = detector.detect_view(view, reduction, frame.hw)
        from_full = detector.detect(frame.image)
        assert reduction == 4
        for ours, theirs in ((from_view, from_full), (from_full, from_view)):
            for d in ours:
                if d.score >= 0.4:
                    clear += 1
                    assert any(iou(d.box, e.box) > 0.9 for e in theirs), (d, theirs)
        for truth in scene.boxes:  # boxes come back in full-frame pixels (the scene was scaled by 3)
            hits += any(iou(tuple(float(v) * 3 for v in truth), d.box) > 0.5 for d in from_view)  # type: ignore[arg-type]
    assert clear >= 6 and hits >= 3

