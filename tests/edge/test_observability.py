"""/metrics, /health, /ready and systemd notifications of a running agent with good and bad cameras."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest
from agent_helpers import TEST_VERSIONS, make_agent, make_config, open_test_store, wait_for
from edge_scene import ColourPlateReader, Passing, write_clip

from edge.inference.models import ModelSet
from edge.observability.sdnotify import notify, watchdog_interval_s


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cameras(tmp_path: Path) -> list[dict[str, object]]:
    clip = write_clip(tmp_path / "gate.avi", [Passing("red", 0, 20)], total_frames=25)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 5000)
    return [
        {"id": "gate", "source": str(clip), "loop": True, "realtime": True},
        {"id": "street", "source": f"rtsp://127.0.0.1:{_closed_port()}/x"},
        {"id": "broken", "source": str(corrupt)},
    ]


def test_metrics_health_and_readiness_say_what_is_wrong(tmp_path: Path) -> None:
    config = make_config(tmp_path, _cameras(tmp_path), http={"enabled": True, "host": "127.0.0.1", "port": 0})
    store = open_test_store(tmp_path / "e.db")
    agent = make_agent(config, store)
    agent.start()
    try:
        assert agent.http is not None
        base = agent.http.url
        assert wait_for(lambda: agent.workers["gate"].stats.processed > 5)
        assert wait_for(lambda: agent.workers["street"].capture.stats.open_failures >= 1)

        health = httpx.get(f"{base}/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"  # bad cameras are not death

        ready = httpx.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 503
        body = ready.json()
        assert body["cameras_never_connected"] == ["broken", "street"]
        assert body["models_loaded"] and body["store_open"]

        text = httpx.get(f"{base}/metrics", timeout=5).text
        assert 'anpr_frames_total{channel="gate"}' in text
        assert 'anpr_frames_dropped_total{channel="gate"}' in text
        assert 'anpr_decode_errors_total{channel="gate"}' in text
        assert 'anpr_camera_up{channel="street"} 0.0' in text
        assert 'anpr_camera_open_failures_total{channel="street"}' in text
        assert 'anpr_inference_seconds_bucket{le="0.005",model="detector"}' in text
        assert "anpr_outbox_pending_events 0.0" in text
        assert "anpr_store_full_errors_total 0.0" in text
        assert "anpr_config_version 1.0" in text
        assert httpx.get(f"{base}/nothing", timeout=5).status_code == 404

        # The dead cameras do not hold the good one back.
        assert agent.workers["gate"].capture.stats.up
    finally:
        agent.stop()


def test_ready_once_every_enabled_camera_has_connected(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "gate.avi", [], total_frames=10)
    cameras = [
        {"id": "gate", "source": str(clip), "loop": True, "realtime": True},
        {"id": "spare", "source": "rtsp://127.0.0.1:1/x", "enabled": False},
    ]
    agent = make_agent(make_config(tmp_path, cameras), open_test_store(tmp_path / "e.db"))
    assert agent.ready()[0] is False  # not started: no models, no store open
    agent.start()
    try:
        assert wait_for(lambda: agent.ready()[0])
    finally:
        agent.stop()
    assert agent.health()[0] is False


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> socket.socket:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def _messages(sock: socket.socket, until: str) -> list[str]:
    got: list[str] = []
    while not any(until in m for m in got):
        got.append(sock.recv(4096).decode())
    return got


def test_systemd_hears_ready_watchdog_and_stopping(
    tmp_path: Path, notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # systemd wants a ping every 0.2 s
    assert watchdog_interval_s() == pytest.approx(0.1)
    clip = write_clip(tmp_path / "gate.avi", [], total_frames=10)
    config = make_config(tmp_path, [{"id": "gate", "source": str(clip), "loop": True, "realtime": True}])
    agent = make_agent(config, open_test_store(tmp_path / "e.db"))
    agent.start()
    try:
        messages = _messages(notify_socket, "WATCHDOG=1")
        assert messages[0].startswith("READY=1")
    finally:
        agent.stop()
    assert "STOPPING=1" in _messages(notify_socket, "STOPPING=1")[-1]


def test_notify_outside_systemd_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify("READY=1") is False
    assert watchdog_interval_s() is None


class _WedgedDetector:
    """A detector that hangs on its second frame, like a runtime stuck in a driver call."""

    thread_safe = True

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def detect(self, frame):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls > 1:
            self.release.wait(30)
        return []


def test_a_wedged_channel_makes_the_agent_unhealthy_and_stops_the_watchdog(
    tmp_path: Path, notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    clip = write_clip(tmp_path / "gate.avi", [], total_frames=10)
    camera = {"id": "gate", "source": str(clip), "loop": True, "realtime": True, "motion_threshold": 0}
    detector = _WedgedDetector()
    models = ModelSet(detector, ColourPlateReader(), TEST_VERSIONS)
    store = open_test_store(tmp_path / "e.db")
    agent = make_agent(make_config(tmp_path, [camera]), store, models, stall_s=0.5)
    agent.start()
    try:
        assert wait_for(lambda: detector.calls > 1)
        assert wait_for(lambda: not agent.health()[0])
        assert agent.health()[1]["stalled_channels"] == ["gate"]
        notify_socket.settimeout(0.5)
        while True:  # drain the pings sent before the stall was noticed
            try:
                notify_socket.recv(4096)
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            notify_socket.recv(4096)  # no WATCHDOG=1 while wedged: systemd will restart us
    finally:
        detector.release.set()
        agent.stop()
