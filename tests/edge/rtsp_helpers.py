"""Live RTSP for tests: clips made with Debian's ffmpeg, served by a real GStreamer RTSP server."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from edge.capture import CaptureChannel, Frame

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"


@cache
def rtsp_unavailable() -> str | None:
    """Why live RTSP tests cannot run here, or None when they can."""
    if shutil.which("ffmpeg") is None:
        return "Debian's ffmpeg is not installed (scripts/system-deps.sh)"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} is missing"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
        capture_output=True, text=True, check=False,
    )
    if probe.returncode != 0:
        return "GStreamer's RTSP server is not installed (gir1.2-gst-rtsp-server-1.0, python3-gi)"
    return None


def encode(source: str | Path, out: Path, *args: str) -> Path:
    """Run ffmpeg on `source` (a file or an lavfi graph given as lavfi:GRAPH) into `out`."""
    text = str(source)
    inputs = ["-f", "lavfi", "-i", text[6:]] if text.startswith("lavfi:") else ["-i", text]
    command = ["ffmpeg", "-v", "error", "-y", *inputs, *args, str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return out


H264 = ("-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p")
H265 = (
    "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=25:bframes=0",
    "-pix_fmt", "yuv420p",
)


class RtspServer:
    """gst-rtsp-server in a child process; mounts are {"/path": "codec:container:file"}."""

    def __init__(self, port: int, mounts: dict[str, str]) -> None:
        self.port = port
        self.mounts = mounts
        self.process: subprocess.Popen[str] | None = None

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}{mount}"

    def start(self, timeout: float = 15.0) -> RtspServer:
        args = [f"{mount}={what}" for mount, what in self.mounts.items()]
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER_SCRIPT), str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        ready = threading.Event()

        def wait_ready() -> None:
            assert self.process is not None and self.process.stdout is not None
            if self.process.stdout.readline().strip() == "ready":
                ready.set()

        threading.Thread(target=wait_ready, daemon=True).start()
        if not ready.wait(timeout):
            _, err = self.stop()
            raise RuntimeError(f"the RTSP server did not start: {err}")
        return self

    def stop(self) -> tuple[str, str]:
        if self.process is None:
            return "", ""
        self.process.kill()
        out, err = self.process.communicate(timeout=10)
        self.process = None
        return out, err

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Seen:
    index: int
    hw: tuple[int, int]
    view_shape: tuple[int, ...]
    connection: int  # how many reconnects the channel had made when the frame arrived


@dataclass
class Collector:
    """Takes a channel's frames on a thread, as a pipeline worker would, and notes what it saw."""

    channel: CaptureChannel
    seen: list[Seen] = field(default_factory=list)
    first: Frame | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Collector:
        self.channel.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.channel.stop()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.channel.slot.take(timeout=0.2)
            if frame is None:
                continue
            self.first = self.first or frame
            view, _ = frame.gray_view(2)
            self.seen.append(Seen(frame.index, frame.hw, view.shape, self.channel.stats.reconnects))

    def frames_in(self, connection: int) -> list[Seen]:
        return [s for s in self.seen if s.connection == connection]


def wait_for(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


needs_rtsp = pytest.mark.skipif(rtsp_unavailable() is not None, reason=str(rtsp_unavailable()))
