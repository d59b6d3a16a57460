"""Frames kept as the camera's JPEG: size from the header, reduced grey views, full decode on demand."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from edge_scene import Passing, render_frame, write_clip

from common.config import CameraConfig
from edge.capture import CaptureChannel, Frame
from edge.capture.jpeg import JpegError, decode_reduced_gray, jpeg_size
from edge.capture.sources import SourceSpec, VideoCaptureLike, open_capture


def _scene(size: tuple[int, int] = (1920, 1080)) -> np.ndarray:
    return render_frame(3, [Passing("red", 0, 10)], size)


def _jpeg(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buffer.tobytes()


def _frame(**kwargs: object) -> Frame:
    return Frame("c", 0, datetime.now(UTC), time.monotonic(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [(1920, 1080), (641, 359), (8, 8)])
def test_jpeg_size_is_read_from_the_header(size: tuple[int, int]) -> None:
    image = np.zeros((size[1], size[0], 3), np.uint8)
    assert jpeg_size(_jpeg(image)) == (size[1], size[0])


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x00\x01\xb6" + bytes(100), b"\xff\xd8\xff\xd9", b"\xff\xd8\x00"]
)
def test_bytes_that_are_no_jpeg_are_refused(data: bytes) -> None:
    with pytest.raises(JpegError):
        jpeg_size(data)


def test_a_jpeg_frame_knows_its_size_and_decodes_in_full_only_when_asked() -> None:
    image = _scene()
    frame = _frame(jpeg=_jpeg(image))
    assert frame.hw == (1080, 1920) and not frame.decoded
    view, factor = frame.gray_view(4)
    assert factor == 4 and view.shape == (270, 480) and not frame.decoded
    full = frame.image
    assert frame.decoded and full.shape == image.shape
    assert np.abs(full.astype(int) - image.astype(int)).mean() < 3  # JPEG loss only


def test_the_reduced_grey_decode_is_an_area_average_of_the_frame() -> None:
    image = _scene()
    view, _ = _frame(jpeg=_jpeg(image)).gray_view(4)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    expected = cv2.resize(gray, (480, 270), interpolation=cv2.INTER_AREA)
    assert np.abs(view.astype(int) - expected.astype(int)).mean() < 2


def test_jpeg_views_round_the_factor_down_to_what_the_decoder_does() -> None:
    frame = _frame(jpeg=_jpeg(_scene((1280, 720))))
    assert frame.gray_view(3)[1] == 2 and frame.gray_view(3)[0].shape == (360, 640)
    assert frame.gray_view(100)[1] == 8
    assert frame.gray_view(3)[0] is frame.gray_view(2)[0]  # the gate and detector share one decode


def test_a_pixel_frame_view_is_an_exact_area_average() -> None:
    image = _scene((1283, 721))
    view, factor = _frame(image=image).gray_view(3)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:720, :1281]
    assert factor == 3
    np.testing.assert_array_equal(view, cv2.resize(gray, (427, 240), interpolation=cv2.INTER_AREA))


def test_a_frame_has_pixels_or_a_jpeg_never_both_or_neither() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError):
        _frame()
    with pytest.raises(ValueError):
        _frame(image=image, jpeg=_jpeg(image))


def test_the_decoder_reduces_by_powers_of_two_only() -> None:
    data = _jpeg(np.zeros((64, 64, 3), np.uint8))
    assert decode_reduced_gray(data, 8).shape == (8, 8)
    with pytest.raises(ValueError, match="reduce by 1, 2, 4 or 8"):
        decode_reduced_gray(data, 3)


def _frames(channel: CaptureChannel) -> list[Frame]:
    channel.start()
    frames: list[Frame] = []
    while (frame := channel.slot.take(timeout=5)) is not None:
        frames.append(frame)
    channel.stop()
    return frames


def test_an_mjpeg_file_is_handed_over_as_jpeg_packets(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.avi", [Passing("red", 0, 10)], total_frames=10)
    frames = _frames(CaptureChannel(CameraConfig(id="c", source=str(clip))))
    assert len(frames) == 10
    assert all(f.jpeg is not None and not f.decoded and f.hw == (360, 640) for f in frames)
    expected = render_frame(4, [Passing("red", 0, 10)], (640, 360))
    assert np.abs(frames[4].image.astype(int) - expected.astype(int)).mean() < 4


def test_other_codecs_are_decoded_by_ffmpeg(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.avi", [Passing("red", 0, 10)], total_frames=10, codec="mp4v")
    frames = _frames(CaptureChannel(CameraConfig(id="c", source=str(clip))))
    assert len(frames) == 10 and all(f.jpeg is None and f.image.shape == (360, 640, 3) for f in frames)


class _ClaimsMjpeg:
    """A real capture of an MPEG-4 clip that claims to be MJPEG: its raw packets are no JPEGs."""

    def __init__(self, spec: SourceSpec) -> None:
        self._capture: VideoCaptureLike = open_capture(spec)

    def __getattr__(self, name: str) -> object:
        return getattr(self._capture, name)

    def get(self, prop_id: int) -> float:
        if prop_id == cv2.CAP_PROP_FOURCC:
            return float(cv2.VideoWriter_fourcc(*"MJPG"))
        return self._capture.get(prop_id)


def test_a_stream_whose_packets_are_no_jpegs_is_reopened_and_decoded_by_ffmpeg(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = write_clip(tmp_path / "c.avi", [], total_frames=8, codec="mp4v")
    channel = CaptureChannel(CameraConfig(id="c", source=str(clip)), opener=_ClaimsMjpeg)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="edge.capture"):
        frames = _frames(channel)
    assert not channel.jpeg_passthrough and "decoding with FFmpeg instead" in caplog.text
    assert len(frames) == 8 and all(f.jpeg is None for f in frames)
