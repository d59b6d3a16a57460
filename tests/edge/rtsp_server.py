"""A real RTSP server for the capture tests: GStreamer's gst-rtsp-server serving clip files.

    /usr/bin/python3 rtsp_server.py PORT /mount=CODEC:CONTAINER:PATH [...]

CODEC is h264 or h265, CONTAINER mkv or ts (a transport stream may change resolution mid-way).
Each client gets its own pipeline from the start of the file, paced at the clip's frame rate;
at the end of the file the stream ends. Prints "ready" once it listens. Runs under the system
Python (python3-gi, gir1.2-gst-rtsp-server-1.0), not the project's virtualenv.
"""

from __future__ import annotations

import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

DEMUXERS = {"mkv": "matroskademux", "ts": "tsdemux"}


def launch_line(codec: str, container: str, path: str) -> str:
    if codec not in ("h264", "h265") or container not in DEMUXERS:
        raise SystemExit(f"unknown codec/container {codec}/{container}")
    # config-interval=-1 repeats the parameter sets with every key frame, as cameras do, so a
    # client joining (or a resolution change) gets them in-band.
    return (
        f"( filesrc location={path} ! {DEMUXERS[container]} ! {codec}parse "
        f"! rtp{codec}pay name=pay0 pt=96 config-interval=-1 )"
    )


def main(argv: list[str]) -> int:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(argv[1])
    mounts = server.get_mount_points()
    for spec in argv[2:]:
        mount, rest = spec.split("=", 1)
        codec, container, path = rest.split(":", 2)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(codec, container, path))
        factory.set_shared(False)
        mounts.add_factory(mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{argv[1]}", file=sys.stderr, flush=True)
        return 1
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
