"""YUV frames (PyAV decoder): grey views from the luma plane, BGR only around plates, config, hwaccel."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from common.config import CameraConfig, CaptureSettings, EdgeConfig, parse_edge_config
from edge.capture import Frame
from edge.capture.channel import decoder_for
from edge.capture.pyav_source import PyAvCapture, hwaccel_devices, yuv_planes
from edge.capture.scene import SceneState
from edge.capture.sources import parse_source
from edge.capture.yuv import YuvPlanes, plate_regions


def _planes(h: int = 64, w: int = 96, full_range: bool = False) -> YuvPlanes:
    rng = np.random.default_rng(1)
    i420 = rng.integers(16, 236, (h * 3 // 2, w), dtype=np.uint8)
    return YuvPlanes.from_i420(i420, full_range)


def _frame(planes: YuvPlanes) -> Frame:
    return Frame("c", 0, datetime.now(UTC), 0.0, yuv=planes)


def test_the_grey_view_is_the_area_averaged_luma_in_full_range() -> None:
    planes = _planes()
    view, factor = _frame(planes).gray_view(4)
    assert factor == 4 and view.shape == (16, 24)
    block = planes.y[:4, :4].astype(float).mean()
    assert abs(int(view[0, 0]) - np.clip((block - 16) * 255 / 219, 0, 255)) <= 1.5
    full = _planes(full_range=True)
    assert _frame(full).gray_view(1)[0].tolist() == full.y.tolist()


def test_the_full_image_is_the_i420_conversion_and_made_only_when_asked() -> None:
    planes = _planes()
    frame = _frame(planes)
    frame.gray_view(2)
    assert not frame.decoded
    i420 = np.concatenate([planes.y, planes.u.reshape(-1, 96), planes.v.reshape(-1, 96)])
    assert np.array_equal(frame.image, cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420))


def test_only_the_regions_around_plates_are_converted() -> None:
    planes = _planes(120, 160)
    frame = _frame(planes)
    box = (60.0, 50.0, 90.0, 60.0)
    partial = frame.bgr_around([box])
    assert not frame.decoded
    full = _frame(planes).image
    top, left, bottom, right = plate_regions([box], frame.hw)[0]
    assert top <= 50 - 10 and left <= 60 - 15 and bottom >= 60 + 10 and right >= 90 + 15
    assert np.array_equal(partial[top:bottom, left:right], full[top:bottom, left:right])
    assert not partial[:top].any() and not partial[bottom:].any()


def test_full_range_planes_convert_like_limited_ones_of_the_same_picture() -> None:
    limited = _planes()
    squeeze = np.round((limited.y.astype(float) - 16) * 255 / 219).clip(0, 255).astype(np.uint8)
    chroma = [np.round((c.astype(float) - 128) * 255 / 224 + 128).clip(0, 255).astype(np.uint8)
              for c in (limited.u, limited.v)]
    full = YuvPlanes(squeeze, chroma[0], chroma[1], full_range=True)
    diff = np.abs(_frame(full).image.astype(int) - _frame(limited).image.astype(int))
    assert diff.max() <= 3


def test_planes_of_the_wrong_layout_are_refused() -> None:
    with pytest.raises(ValueError, match="4:2:0"):
        YuvPlanes(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.uint8))


def test_capture_settings_default_to_pyav_over_tcp_and_old_configs_still_load() -> None:
    camera = CameraConfig(id="c", source="rtsp://cam/1")
    assert camera.capture == CaptureSettings()
    assert (camera.capture.rtsp_transport, camera.capture.hwaccel, camera.capture.decoder_threads) == (
        "tcp", "none", 1
    )
    assert decoder_for(parse_source("rtsp://cam/1"), camera.capture) == "pyav"
    assert decoder_for(parse_source("usb:0"), camera.capture) == "opencv"
    assert decoder_for(parse_source("a.mp4"), CaptureSettings(decoder="opencv")) == "opencv"
    EdgeConfig.model_validate({"cameras": [{"id": "a", "source": "x.mp4", "fps_limit": 5}]})


@pytest.mark.parametrize(
    "capture",
    [{"rtsp_transport": "http"}, {"decoder": "gstreamer"}, {"reconnect_initial_s": 10, "reconnect_max_s": 5},
     {"max_frame_pixels": 10}, {"hwaccel": "cuda"}],
)
def test_bad_capture_settings_are_refused_by_name(capture: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"cameras\.0\.capture"):
        parse_edge_config({"cameras": [{"id": "a", "source": "x.mp4", "capture": capture}]})


@pytest.fixture(scope="module")
def h264_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("Debian's ffmpeg is not installed (scripts/system-deps.sh)")
    out = tmp_path_factory.mktemp("hw") / "clip.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)],
        check=True, capture_output=True,
    )
    return out


def _decode_all(clip: Path, settings: CaptureSettings) -> list[tuple[int, int]]:
    capture = PyAvCapture(parse_source(str(clip)), settings)
    assert capture.isOpened()
    sizes = []
    while capture.grab():
        _, planes = capture.retrieve()
        assert isinstance(planes, YuvPlanes)
        sizes.append(planes.hw)
    capture.release()
    assert capture.ended and capture.decode_errors == 0
    return sizes


def test_nv12_frames_from_hardware_decoders_are_used_without_conversion(h264_clip: Path) -> None:
    import av

    with av.open(str(h264_clip)) as container:
        decoded = next(container.decode(video=0))
    planar = yuv_planes(decoded, 10**8)
    nv12 = yuv_planes(decoded.reformat(format="nv12"), 10**8)
    assert nv12.u.base is not None and not nv12.u.flags.c_contiguous  # views, not copies
    assert np.array_equal(nv12.y, planar.y) and np.array_equal(nv12.u, planar.u)
    assert np.array_equal(nv12.v, planar.v)
    assert np.array_equal(_frame(nv12).image, _frame(planar).image)


def test_hardware_decoding_where_the_box_has_it(h264_clip: Path) -> None:
    devices = hwaccel_devices()
    if not devices or not os.path.exists("/dev/dri"):
        pytest.skip(f"no hardware decoder here: this FFmpeg has {devices or 'none'} of qsv/vaapi, "
                    f"and /dev/dri {'exists' if os.path.exists('/dev/dri') else 'is missing'}")
    assert _decode_all(h264_clip, CaptureSettings(hwaccel=devices[0])) == [(240, 320)] * 25  # type: ignore[arg-type]


def test_hwaccel_on_a_box_without_the_device_decodes_in_software(
    h264_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert _decode_all(h264_clip, CaptureSettings(hwaccel="vaapi")) == [(240, 320)] * 25
        assert _decode_all(h264_clip, CaptureSettings(hwaccel="auto")) == [(240, 320)] * 25
    if "vaapi" not in hwaccel_devices():
        assert "decoding in software" in caplog.text


@pytest.fixture(scope="module")
def gate_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of an empty scene, a car, 4 s empty again, another car (H.264): like a gate camera."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("Debian's ffmpeg is not installed (scripts/system-deps.sh)")
    from edge_scene import Passing, write_clip

    folder = tmp_path_factory.mktemp("gate")
    scene = write_clip(folder / "gate.avi", [Passing("red", 150, 40), Passing("blue", 290, 40)], 340)
    clip = folder / "gate.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(scene), "-c:v", "libx264", "-preset", "veryfast", "-g", "50",
         "-bf", "0", "-crf", "16", "-pix_fmt", "yuv420p", str(clip)],
        check=True, capture_output=True,
    )
    return clip


def test_a_still_scene_decodes_key_frames_only_and_a_car_still_makes_its_event(
    tmp_path: Path, gate_clip: Path
) -> None:
    from agent_helpers import make_agent, make_config, open_test_store

    from common.events import PlateEvent
    from edge.events.sinks import CallbackSink

    def run(still_decode: str) -> tuple[list[str], int, int]:
        camera = {"id": "gate", "source": str(gate_clip), "capture": {"still_decode": still_decode}}
        printed: list[PlateEvent] = []
        config = make_config(tmp_path / still_decode, [camera])
        agent = make_agent(config, open_test_store(tmp_path / f"{still_decode}.db"),
                           sinks=[CallbackSink(printed.append)])
        agent.start()
        stats = agent.workers["gate"].capture.stats
        try:
            assert agent.wait_until_finished(60)
        finally:
            agent.stop()
        return [e.plate.latin for e in printed], stats.frames, stats.skipped_still

    every, frames_all, skipped_all = run("all")
    keyframes, frames_key, skipped_key = run("keyframes")
    assert every == ["A123BC77", "O789PT50"] and frames_all == 340 and skipped_all == 0
    assert keyframes == every  # both cars are read although most still frames were never decoded
    assert skipped_key >= 100 and frames_key + skipped_key >= 330


def test_after_resuming_on_a_large_packet_the_decoder_waits_for_the_worker_to_see_stillness_again(
    gate_clip: Path,
) -> None:
    # A worker that lags: it called the scene still once and has not looked since. The car's
    # packets must not become the "still" baseline that would have them skipped.
    scene = SceneState(still=True, epoch=1)
    settings = CaptureSettings(still_decode="keyframes")
    capture = PyAvCapture(parse_source(str(gate_clip)), settings, scene=scene)
    decoded = []
    while capture.grab():
        decoded.append(capture.retrieve()[1])
    assert scene.resumes == 1
    assert 100 <= capture.skipped_still < 150  # of the 150 still frames before the first car
    assert len(decoded) + capture.skipped_still == 340
