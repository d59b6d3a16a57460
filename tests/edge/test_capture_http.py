"""A live network camera (HTTP MJPEG) that goes away mid-stream and comes back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest
from agent_helpers import FAST_BACKOFF, wait_for

from common.config import CameraConfig
from edge.capture import CaptureChannel

JPEG = cv2.imencode(".jpg", np.full((120, 160, 3), 90, np.uint8))[1].tobytes()


class MjpegCamera:
    """An IP camera's MJPEG endpoint: multipart JPEGs at ~50 fps until stopped."""

    def __init__(self, port: int = 0) -> None:
        self.live = threading.Event()
        live = self.live

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
                self.end_headers()
                head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(JPEG)
                while live.is_set():
                    self.wfile.write(head + JPEG + b"\r\n")
                    time.sleep(0.02)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.live.set()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.live.clear()  # open streams end mid-way
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def camera() -> Iterator[MjpegCamera]:
    cam = MjpegCamera()
    yield cam
    cam.stop()


def _take_frames(channel: CaptureChannel, count: int, timeout: float = 10.0) -> int:
    got, deadline = 0, time.monotonic() + timeout
    while got < count and time.monotonic() < deadline:
        got += channel.slot.take(timeout=0.2) is not None
    return got


def test_a_network_camera_that_dies_is_reconnected_when_it_comes_back(camera: MjpegCamera) -> None:
    url = f"http://127.0.0.1:{camera.port}/video.mjpg"
    channel = CaptureChannel(CameraConfig(id="door", source=url), backoff=FAST_BACKOFF)
    channel.start()
    try:
        assert _take_frames(channel, 5) == 5 and channel.stats.up
        camera.stop()  # the camera loses power
        assert wait_for(lambda: not channel.stats.up and channel.stats.open_failures >= 2)
        assert channel.is_alive()
        back = MjpegCamera(port=camera.port)  # and comes back on the same address
        try:
            assert wait_for(lambda: channel.stats.reconnects >= 1 and channel.stats.up)
            assert _take_frames(channel, 5) == 5
        finally:
            back.stop()
    finally:
        channel.stop()
