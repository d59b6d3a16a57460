"""The edge agent with the shipped models on the bundled sample clip, and the CLI around it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import httpx
import pytest

from common.config import EdgeConfig
from common.events import PlateEvent
from edge.agent import EdgeAgent
from edge.events.sinks import CallbackSink
from edge.inference.models import detector_path, reader_path
from edge.samples import SAMPLE_CLIP, SAMPLE_CLIP_TRUTH
from provisioning.local_broker import free_port

_DEFAULTS = EdgeConfig()
_MODELS = (detector_path(_DEFAULTS.detector), reader_path(_DEFAULTS.reader))
_MISSING = [str(p) for p in _MODELS if not p.is_file()]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(_MISSING), reason=f"shipped models not trained yet: {', '.join(_MISSING)} missing"
    ),
]

TRUTH = json.loads(SAMPLE_CLIP_TRUTH.read_text(encoding="utf-8"))
FPS = TRUTH["fps"]


def _config(tmp_path: Path) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "cameras": [{"id": "sample", "source": str(SAMPLE_CLIP)}],
            "store": {"path": str(tmp_path / "events.db"), "key_file": str(tmp_path / "store.key")},
            "http": {"enabled": False},
        }
    )


@pytest.fixture(scope="module")
def clip_events(tmp_path_factory: pytest.TempPathFactory) -> list[PlateEvent]:
    tmp_path = tmp_path_factory.mktemp("e2e")
    events: list[PlateEvent] = []
    agent = EdgeAgent(_config(tmp_path), sinks=[CallbackSink(events.append)])
    agent.start()
    try:
        assert agent.wait_until_finished(timeout=600)
    finally:
        agent.stop()
    return events


def test_every_vehicle_passage_of_the_sample_clip_is_one_event(clip_events: list[PlateEvent]) -> None:
    plates = TRUTH["plates"]
    assert len(clip_events) == len(plates), [e.plate.latin for e in clip_events]
    start = min(e.first_seen for e in clip_events)  # frame 0 is at least this early
    for event, truth in zip(sorted(clip_events, key=lambda e: e.first_seen), plates, strict=True):
        seen_s = (event.captured_at - start).total_seconds()
        assert truth["enter_s"] - 1.0 <= seen_s <= truth["exit_s"] + 1.0


def test_the_plates_of_the_sample_clip_are_read(clip_events: list[PlateEvent]) -> None:
    expected = [p["latin"] for p in TRUTH["plates"]]
    read = {e.plate.latin for e in clip_events}
    exact = [latin for latin in expected if latin in read]
    assert len(exact) >= len(expected) - 1, f"read {sorted(read)}, expected {expected}"
    for event in clip_events:
        assert event.crop_jpeg and event.models.detector and event.models.reader


def _anpr_edge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_demo_prints_each_event_and_a_summary(tmp_path: Path) -> None:
    result = _anpr_edge("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    event_lines = [line for line in lines if "  sample  " in line]
    assert len(event_lines) == len(TRUTH["plates"])
    assert f"plate event(s) from {TRUTH['frames']} frames" in result.stdout
    assert "plates in the clip were read exactly" in result.stdout


def test_recognize_json_reads_frames_and_reports_bad_files(tmp_path: Path) -> None:
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    truth = TRUTH["plates"][1]
    names = []
    for i, index in enumerate(range(truth["first_frame"] + 10, truth["last_frame"], 20)):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        assert ok
        names.append(f"frame{i}.jpg")
        cv2.imwrite(str(tmp_path / names[-1]), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    data = (tmp_path / names[0]).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "zero.jpg").touch()

    result = _anpr_edge("recognize", "--json", *names, "cut.jpg", "zero.jpg", cwd=tmp_path)
    assert result.returncode == 1  # some images could not be read
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"] for r in rows] == [*names, "cut.jpg", "zero.jpg"]
    for good in rows[:-2]:
        assert set(good) == {"image", "plates", "ms"}
        for plate in good["plates"]:
            assert set(plate) == {"text", "latin", "confidence", "box", "country", "format"}
            x1, y1, x2, y2 = plate["box"]
            assert 0 <= x1 < x2 <= TRUTH["width"] and 0 <= y1 < y2 <= TRUTH["height"]
    # Single frames are harder than a voted track; most of them must still give the exact plate.
    exact = [p for r in rows[:-2] for p in r["plates"] if p["latin"] == truth["latin"]]
    assert len(exact) >= len(names) // 2, rows
    assert exact[0]["text"] == truth["text"] and exact[0]["country"] == truth["country"]
    assert "truncated" in rows[-2]["error"] and "empty" in rows[-1]["error"]


def _wait_http(url: str, want: int, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == want:
                return response.text
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered {want}")


def test_run_serves_metrics_reloads_on_sighup_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    camera = f"  - id: gate\n    source: {SAMPLE_CLIP}\n    realtime: true\n    loop: true\n"
    head = (
        f"store:\n  path: {tmp_path / 'events.db'}\n  key_file: {tmp_path / 'store.key'}\n"
        f"http:\n  port: {port}\ncameras:\n"
    )
    config = tmp_path / "edge.yaml"
    config.write_text(head + camera)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/ready", 200)
        config.write_text(head + camera + camera.replace("id: gate", "id: yard"))
        process.send_signal(signal.SIGHUP)
        metrics = _wait_http(f"{base}/metrics", 200)
        for _ in range(60):
            if 'anpr_frames_total{channel="yard"}' in metrics:
                break
            time.sleep(0.5)
            metrics = _wait_http(f"{base}/metrics", 200)
        assert 'anpr_frames_total{channel="yard"}' in metrics
        assert 'anpr_inference_seconds_count{model="detector"}' in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "config version 1 applied: 2 camera(s) running" in stderr
