"""Live RTSP cameras: H.264 and H.265 from a real RTSP server on 127.0.0.1, decoded by PyAV to YUV.

A camera that starts late, dies mid-stream and comes back, changes resolution, sends corrupt
packets, or is named by a wrong URL; the other channels keep going, and the events are those the
same clip gives from a file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from agent_helpers import FAST_BACKOFF, make_agent, make_config, open_test_store
from edge_scene import Passing, write_clip
from rtsp_helpers import H264, H265, Collector, RtspServer, encode, needs_rtsp, wait_for

from common.config import CameraConfig
from common.events import PlateEvent
from edge.capture import CaptureChannel
from edge.capture.yuv import YuvPlanes
from edge.events.sinks import CallbackSink
from provisioning.local_broker import free_port

pytestmark = needs_rtsp

CLIP_FRAMES = 100  # 4 s at 25 FPS
THREE_CARS = [Passing("red", 5, 40), Passing("green", 60, 40, y=120), Passing("blue", 115, 40, y=260)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small clips: a moving test pattern in H.264 and H.265, one that changes resolution half-way,
    one with corrupt packets, and the three-cars scene."""
    folder = tmp_path_factory.mktemp("rtsp")
    pattern = "lavfi:testsrc2=size=320x240:rate=25"
    made = {
        "h264": encode(pattern, folder / "h264.mkv", "-t", "4", *H264),
        "h265": encode(pattern, folder / "h265.mkv", "-t", "4", *H265),
    }
    # Two halves of different sizes in one transport stream, parameter sets with every key frame.
    annexb = ("-x264-params", "repeat-headers=1", "-f", "mpegts")
    small = encode(pattern, folder / "a.ts", "-t", "2", *H264, *annexb)
    large = encode(
        "lavfi:testsrc2=size=480x360:rate=25", folder / "b.ts", "-t", "2", *H264, *annexb,
        "-output_ts_offset", "2",
    )
    made["resize"] = folder / "resize.ts"
    made["resize"].write_bytes(small.read_bytes() + large.read_bytes())
    # Corrupt video payload (not the transport headers) in a tenth of the packets after the first second.
    clean = encode(pattern, folder / "clean.ts", "-t", "4", *H264, *annexb).read_bytes()
    corrupt = bytearray(clean)
    rng = np.random.default_rng(5)
    packets = len(corrupt) // 188
    for p in rng.choice(np.arange(packets // 4, packets), size=packets // 10, replace=False):
        start = int(p) * 188 + 24
        corrupt[start : start + 160] = rng.integers(0, 256, 160, dtype=np.uint8).tobytes()
    made["corrupt"] = folder / "corrupt.ts"
    made["corrupt"].write_bytes(bytes(corrupt))
    scene = write_clip(folder / "three.avi", THREE_CARS, total_frames=170)
    made["cars_h264"] = encode(scene, folder / "cars264.mkv", *H264, "-crf", "16")
    made["cars_h265"] = encode(scene, folder / "cars265.mkv", *H265, "-crf", "16")
    return made


def _channel(url: str, **capture: object) -> CaptureChannel:
    camera = CameraConfig(id="cam", source=url, capture={"read_timeout_s": 2.0, **capture})
    return CaptureChannel(camera, backoff=FAST_BACKOFF)


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_a_camera_stream_is_decoded_to_yuv_in_real_time(clips: dict[str, Path], codec: str) -> None:
    with RtspServer(free_port(), {"/cam": f"{codec}:mkv:{clips[codec]}"}) as server:
        channel = _channel(server.url("/cam"))
        assert channel.decoder == "pyav"
        with Collector(channel) as seen:
            assert wait_for(lambda: channel.stats.reconnects >= 1)  # the clip ended: the camera is gone
    frame = seen.first
    assert frame is not None and isinstance(frame.yuv, YuvPlanes) and frame.hw == (240, 320)
    assert not frame.decoded  # the grey view came from the luma plane: nothing was converted to BGR
    first = seen.frames_in(0)
    # Indexes count every decoded frame, also those a busy consumer never took (latest-frame policy).
    assert first[-1].index >= CLIP_FRAMES * 0.9 and all(s.hw == (240, 320) for s in first)
    assert channel.stats.decode_errors == 0


def test_a_camera_that_starts_late_is_connected_by_the_backoff(clips: dict[str, Path]) -> None:
    server = RtspServer(free_port(), {"/cam": f"h264:mkv:{clips['h264']}"})
    channel = _channel(server.url("/cam"))
    with Collector(channel) as seen:
        assert wait_for(lambda: channel.stats.open_failures >= 2)
        assert not channel.stats.ever_connected
        with server:
            assert wait_for(lambda: channel.stats.frames >= 25 and bool(seen.seen))
    assert channel.stats.ever_connected and channel.stats.reconnects == 0


def test_a_camera_that_dies_mid_stream_is_reconnected_when_it_comes_back(clips: dict[str, Path]) -> None:
    server = RtspServer(free_port(), {"/cam": f"h265:mkv:{clips['h265']}"})
    channel = _channel(server.url("/cam"))
    with Collector(channel) as seen:
        server.start()
        assert wait_for(lambda: channel.stats.frames >= 20)
        server.stop()  # killed mid-stream
        assert wait_for(lambda: not channel.stats.up)
        failures = channel.stats.open_failures
        assert wait_for(lambda: channel.stats.open_failures > failures)  # down, and retried
        server.start()
        assert wait_for(lambda: len(seen.frames_in(1)) >= 5)
        server.stop()
    assert seen.frames_in(0)[-1].index < CLIP_FRAMES - 1  # the first connection was cut short
    assert channel.stats.reconnects >= 1


def test_a_stream_that_changes_resolution_goes_on_at_the_new_size(clips: dict[str, Path]) -> None:
    with RtspServer(free_port(), {"/cam": f"h264:ts:{clips['resize']}"}) as server:
        channel = _channel(server.url("/cam"))
        with Collector(channel) as seen:
            assert wait_for(lambda: channel.stats.reconnects >= 1)
    first = seen.frames_in(0)
    assert first[0].hw == (240, 320) and first[-1].hw == (360, 480)
    # 50 frames at each size, in order (a frame either side of the change for the decoder's sake)
    assert all(s.index < 52 for s in first if s.hw == (240, 320))
    assert all(s.index >= 48 for s in first if s.hw == (360, 480))
    assert {s.hw for s in first} == {(240, 320), (360, 480)}
    assert {s.view_shape for s in seen.frames_in(0)} == {(120, 160), (180, 240)}


def test_corrupt_packets_cost_frames_not_the_stream(clips: dict[str, Path]) -> None:
    with RtspServer(free_port(), {"/cam": f"h264:ts:{clips['corrupt']}"}) as server:
        channel = _channel(server.url("/cam"))
        with Collector(channel) as seen:
            assert wait_for(lambda: channel.stats.reconnects >= 1)
    first = seen.frames_in(0)
    # The decoder conceals or skips the damaged slices; the stream is read to its end in one go.
    assert first[-1].index >= CLIP_FRAMES * 0.7


def test_a_wrong_url_is_retried_while_the_other_channels_keep_going(
    clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with RtspServer(free_port(), {"/cam": f"h264:mkv:{clips['h264']}"}) as server:
        good, wrong = _channel(server.url("/cam")), _channel(server.url("/no-such-stream"))
        with Collector(good) as seen, Collector(wrong) as nothing, caplog.at_level(logging.WARNING):
            assert wait_for(lambda: bool(seen.seen))  # the good camera reaches its consumer
            assert wait_for(lambda: wrong.stats.open_failures >= 3 and good.stats.frames >= 50)
    assert not wrong.stats.ever_connected and not nothing.seen
    assert good.stats.ever_connected and good.stats.open_failures == 0
    assert "cannot connect: rtsp://127.0.0.1" in caplog.text


def test_a_stream_growing_above_the_size_limit_is_closed_before_it_costs_memory(
    clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with RtspServer(free_port(), {"/cam": f"h264:ts:{clips['resize']}"}) as server:
        channel = _channel(server.url("/cam"), max_frame_pixels=320 * 240)
        with Collector(channel) as seen, caplog.at_level(logging.WARNING):
            assert wait_for(lambda: channel.stats.reconnects >= 1)
    first = seen.frames_in(0)
    assert {s.hw for s in first} == {(240, 320)} and all(s.index < 52 for s in first)  # no larger frame
    assert channel.stats.decode_errors >= 1
    assert "frames of 480x360 are above capture.max_frame_pixels=76800" in caplog.text


def test_a_camera_above_the_size_limit_is_refused_at_connection(
    clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with RtspServer(free_port(), {"/cam": f"h264:mkv:{clips['h264']}"}) as server:
        channel = _channel(server.url("/cam"), max_frame_pixels=160 * 120)
        with Collector(channel) as seen, caplog.at_level(logging.WARNING):
            assert wait_for(lambda: channel.stats.open_failures >= 2)
    assert not seen.seen and not channel.stats.ever_connected
    assert "frames of 320x240 are above capture.max_frame_pixels=19200" in caplog.text


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_events_from_a_live_camera_are_those_from_the_file(
    tmp_path: Path, clips: dict[str, Path], codec: str
) -> None:
    clip = clips[f"cars_{codec}"]

    def plates(source: str, until_reconnect: bool) -> list[str]:
        printed: list[PlateEvent] = []
        config = make_config(tmp_path / source.replace("/", "_"), [{"id": "gate", "source": source}])
        store = open_test_store(tmp_path / f"{len(source)}-{until_reconnect}.db")
        agent = make_agent(config, store, sinks=[CallbackSink(printed.append)])
        agent.start()
        try:
            worker = agent.workers["gate"]
            if until_reconnect:  # a camera never ends: stop once the clip was served whole
                assert wait_for(lambda: worker.capture.stats.reconnects >= 1, timeout=40)
            else:
                assert agent.wait_until_finished(40)
        finally:
            agent.stop()
        return [e.plate.latin for e in printed]

    from_file = plates(str(clip), until_reconnect=False)
    assert from_file == ["A123BC77", "E456KM99", "O789PT50"]
    with RtspServer(free_port(), {"/cam": f"{codec}:mkv:{clip}"}) as server:
        assert plates(server.url("/cam"), until_reconnect=True) == from_file
