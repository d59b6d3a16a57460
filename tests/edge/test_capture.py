"""Capture: sources, the latest-frame slot, file pacing and timestamps, faults and reconnection."""

from __future__ import annotations

import itertools
import logging
import shutil
import socket
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from edge_scene import Passing, write_clip

from common.config import SAMPLE_SOURCE, CameraConfig
from edge.capture import Backoff, CaptureChannel, Frame, LatestFrameSlot, parse_source
from edge.capture.frames import SlotClosed
from edge.samples import SAMPLE_CLIP

FAST_BACKOFF = Backoff(initial_s=0.05, factor=2.0, max_s=0.2)


def _frame(index: int) -> Frame:
    from datetime import UTC, datetime

    return Frame("c", index, datetime.now(UTC), time.monotonic(), np.zeros((2, 2, 3), np.uint8))


def _drain(channel: CaptureChannel, timeout: float = 10.0) -> list[Frame]:
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = channel.slot.take(timeout=0.2)
        if frame is not None:
            frames.append(frame)
        elif channel.slot.closed:
            break
    return frames


def _wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_slot_keeps_only_the_newest_frame_and_counts_the_dropped_ones() -> None:
    slot = LatestFrameSlot()
    for i in range(5):
        slot.put(_frame(i))
    taken = slot.take(timeout=0)
    assert taken is not None and taken.index == 4
    assert slot.dropped == 4
    assert slot.take(timeout=0.01) is None


def test_slot_closed_refuses_producers_and_wakes_consumers() -> None:
    slot = LatestFrameSlot()
    slot.close()
    assert slot.take(timeout=5) is None
    with pytest.raises(SlotClosed):
        slot.put(_frame(0))


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("rtsp://user:secret@10.0.0.5:554/stream1", "rtsp"),
        ("http://cam.local/mjpeg", "http"),
        ("usb:0", "usb"),
        ("/var/video/gate.mp4", "file"),
    ],
)
def test_sources_are_recognised_by_their_form(source: str, kind: str) -> None:
    assert parse_source(source).kind == kind


def test_the_default_config_source_is_the_bundled_sample_clip() -> None:
    spec = parse_source(SAMPLE_SOURCE)
    assert (spec.kind, spec.target) == ("file", str(SAMPLE_CLIP))
    assert SAMPLE_CLIP.is_file()


def test_credentials_never_appear_in_the_source_description() -> None:
    assert "secret" not in parse_source("rtsp://user:secret@10.0.0.5:554/s").describe()


@pytest.mark.parametrize("source", ["usb:front", "ftp://host/x.mp4"])
def test_unusable_sources_are_refused_with_a_reason(source: str) -> None:
    with pytest.raises(ValueError, match="source"):
        parse_source(source)


def test_unpaced_file_is_read_whole_with_timestamps_from_the_frame_index(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.avi", [Passing("red", 0, 10)], total_frames=30, fps=25)
    channel = CaptureChannel(CameraConfig(id="c", source=str(clip), motion_threshold=0))
    channel.start()
    frames = _drain(channel)
    channel.stop()
    assert [f.index for f in frames] == list(range(30))  # lossless: the reader waited for us
    assert channel.dropped == 0
    assert channel.stats.finished and channel.stats.ever_connected and not channel.stats.up
    steps = {frames[i + 1].captured_at - frames[i].captured_at for i in range(29)}
    assert steps == {timedelta(milliseconds=40)}
    assert frames[0].captured_at.utcoffset() == timedelta(0)


def test_realtime_file_is_paced_and_a_slow_consumer_loses_frames_not_time(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.avi", [], total_frames=25, fps=50)
    channel = CaptureChannel(CameraConfig(id="c", source=str(clip), realtime=True))
    started = time.monotonic()
    channel.start()
    frames: list[Frame] = []
    while not channel.slot.closed or frames == []:
        frame = channel.slot.take(timeout=0.2)
        if frame is not None:
            frames.append(frame)
            time.sleep(0.06)  # slower than the 20 ms frame interval
        if time.monotonic() - started > 10:
            break
    channel.stop()
    assert time.monotonic() - started >= 0.45  # 25 frames at 50 fps are half a second
    assert channel.stats.frames == 25
    assert channel.dropped > 0
    assert len(frames) + channel.dropped >= 24  # every frame was either processed or counted dropped


def test_fps_limit_thins_a_file_source(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.avi", [], total_frames=50, fps=25)
    channel = CaptureChannel(CameraConfig(id="c", source=str(clip), fps_limit=5))
    channel.start()
    frames = _drain(channel)
    assert 9 <= len(frames) <= 11


def test_looping_file_restarts_and_time_keeps_moving_forward(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.avi", [], total_frames=10, fps=25)
    channel = CaptureChannel(CameraConfig(id="c", source=str(clip), loop=True))
    channel.start()
    frames = [f for f in (channel.slot.take(timeout=2) for _ in range(25)) if f is not None]
    channel.stop()
    assert len(frames) == 25
    assert all(b.captured_at > a.captured_at for a, b in itertools.pairwise(frames))


def test_corrupt_video_file_is_reported_and_retried_never_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    channel = CaptureChannel(CameraConfig(id="gate", source=str(bad)), backoff=FAST_BACKOFF)
    with caplog.at_level(logging.WARNING, logger="edge.capture"):
        channel.start()
        assert _wait_for(lambda: channel.stats.open_failures >= 3)
    assert channel.is_alive() and not channel.stats.ever_connected
    channel.stop()
    assert not channel.is_alive()
    assert "camera gate: file not found or unreadable" in caplog.text
    assert "retrying in" in caplog.text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_rtsp_camera_is_retried_with_growing_capped_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"rtsp://127.0.0.1:{_closed_port()}/x"
    channel = CaptureChannel(CameraConfig(id="street", source=url), backoff=FAST_BACKOFF)
    with caplog.at_level(logging.WARNING, logger="edge.capture"):
        channel.start()
        assert _wait_for(lambda: channel.stats.open_failures >= 3, timeout=20)
    channel.stop()
    assert not channel.stats.up and not channel.stats.ever_connected
    assert f"camera street: cannot connect: {url}" in caplog.text
    assert [FAST_BACKOFF.delay(a) for a in range(4)] == [0.05, 0.1, 0.2, 0.2]


def test_camera_that_is_missing_then_appears_connects_via_backoff(tmp_path: Path) -> None:
    target = tmp_path / "later.avi"
    channel = CaptureChannel(CameraConfig(id="c", source=str(target)), backoff=FAST_BACKOFF)
    channel.start()
    assert _wait_for(lambda: channel.stats.open_failures >= 2)
    write_clip(tmp_path / "tmp.avi", [], total_frames=5)
    shutil.move(tmp_path / "tmp.avi", target)
    frames = _drain(channel)
    assert len(frames) == 5 and channel.stats.ever_connected


def test_stream_that_dies_mid_way_and_comes_back_is_reopened(tmp_path: Path) -> None:
    """A looping source whose file is cut short mid-stream, then restored."""
    good = write_clip(tmp_path / "good.avi", [Passing("red", 0, 40)], total_frames=40, fps=100)
    live = tmp_path / "live.avi"
    shutil.copy(good, live)
    camera = CameraConfig(id="c", source=str(live), loop=True, realtime=True)
    channel = CaptureChannel(camera, backoff=FAST_BACKOFF)
    channel.start()
    first = [channel.slot.take(timeout=2) for _ in range(5)]
    assert all(f is not None for f in first)
    data = good.read_bytes()
    live.write_bytes(data[: len(data) // 3])  # the camera dies: the stream is cut mid-frame
    live.unlink()  # and is gone for a while
    assert _wait_for(lambda: channel.stats.open_failures >= 1)
    shutil.copy(good, live)  # it comes back
    reopened_before = channel.stats.reconnects
    assert _wait_for(lambda: channel.stats.reconnects > reopened_before)
    assert channel.slot.take(timeout=2) is not None
    channel.stop()
