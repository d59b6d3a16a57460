"""The `anpr-edge` command line: config errors, events list and export."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.crypto import load_or_create_key_file
from common.events import ModelVersions, PlateEvent
from common.plates.reading import PlateReading
from edge.cli import SNAPSHOT_MAX_THREADS, build_parser, main, snapshot_threads
from edge.store import EventStore


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        ("cameras:\n  - id: gate\n    source: a.mp4\n    fps_limit: -1\n", "cameras.0.fps_limit"),
        ("detektor:\n  score_threshold: 0.5\n", "detektor"),
        ("reader:\n  batch_size: many\n", "reader.batch_size"),
        ("cameras: [\n", "not valid YAML"),
    ],
)
def test_a_bad_config_is_refused_with_the_field_named_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, named: str
) -> None:
    config = _write(tmp_path / "edge.yaml", yaml_text)
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and named in err


def test_a_missing_config_file_is_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read config" in capsys.readouterr().err


def test_check_config_accepts_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path / "edge.yaml", "version: 4\ncameras:\n  - id: gate\n    source: usb:0\n")
    assert main(["check-config", str(config)]) == 0
    assert "valid (version 4, 1 enabled camera(s))" in capsys.readouterr().out


def test_usage_errors_exit_2_and_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["recognize"])
    assert exc.value.code == 2
    help_text = build_parser().format_help()
    for command in ("run", "demo", "recognize", "events", "check-config"):
        assert command in help_text


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--min-confidence", "1.5"),
        ("--min-confidence", "-0.1"),
        ("--min-confidence", "high"),
        ("--threads", "0"),  # the runtimes' own bounds: 1 to 64 threads
        ("--threads", "65"),
        ("--threads", "two"),
    ],
)
def test_recognize_refuses_options_outside_the_settings_bounds(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["recognize", option, value, "photo.jpg"])
    assert exc.value.code == 2
    assert option in capsys.readouterr().err


def _blank_image(folder: Path) -> Path:
    import cv2
    import numpy as np

    image = folder / "empty.png"
    cv2.imwrite(str(image), np.full((240, 320, 3), 128, np.uint8))
    return image


def test_recognize_reads_for_the_countries_given_and_refuses_unknown_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _blank_image(tmp_path)
    assert main(["recognize", "--json", "--countries", "ru", str(image)]) == 0
    result = json.loads(capsys.readouterr().out.strip())
    assert result["image"] == str(image) and result["plates"] == []
    assert main(["recognize", "--countries", "XX", str(image)]) == 2
    assert "no country 'XX'" in capsys.readouterr().err


def test_recognize_runs_every_model_on_the_threads_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import edge.inference.models as models

    loaded: list[tuple[int, int]] = []
    load = models.load_models

    def recording_load(detector, reader, *args, **kwargs):  # type: ignore[no-untyped-def]
        loaded.append((detector.runtime.threads, reader.runtime.threads))
        return load(detector, reader, *args, **kwargs)

    monkeypatch.setattr(models, "load_models", recording_load)
    image = _blank_image(tmp_path)
    config = _write(tmp_path / "edge.yaml", "reader:\n  runtime: {type: onnxruntime, threads: 3}\n")
    assert main(["recognize", "--json", "--threads", "2", "-c", str(config), str(image)]) == 0
    assert main(["recognize", "--json", "-c", str(config), str(image)]) == 0
    # Without --threads, the config's own where it names them, else the box's cores.
    assert loaded == [(2, 2), (snapshot_threads(), 3)]
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["plates"] for line in lines] == [[], []]


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 2), (16, SNAPSHOT_MAX_THREADS)])
def test_recognize_uses_the_cores_it_may_run_on_up_to_a_few(
    monkeypatch: pytest.MonkeyPatch, cores: int, threads: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    assert snapshot_threads() == threads


def _event(plate: str, latin: str, channel: str, minutes_ago: int) -> PlateEvent:
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return PlateEvent(
        site_id="s",
        device_id="d",
        channel_id=channel,
        captured_at=when,
        first_seen=when,
        last_seen=when,
        plate=PlateReading(
            confidence=0.9, text=plate, latin=latin, country="RU", format="standard", valid=True),
        confidence=0.93,
        box=(1, 2, 30, 12),
        frames=4,
        crop_jpeg=b"\xff\xd8jpeg\xff\xd9",
        models=ModelVersions(detector="det", reader="rdr"),
    )


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    db, key_file = tmp_path / "events.db", tmp_path / "store.key"
    with EventStore(db, load_or_create_key_file(key_file)) as store:
        store.add(_event("А123ВС77", "A123BC77", "gate", 30))
        store.add(_event("Е456КМ99", "E456KM99", "yard", 10))
    return _write(tmp_path / "edge.yaml", f"store:\n  path: {db}\n  key_file: {key_file}\n")


def test_events_list_decrypts_with_the_local_key(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "list", "--config", str(stored)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "Е456КМ99" in out[0] and "А123ВС77" in out[1]  # newest first
    assert main(["events", "list", "--config", str(stored), "--plate", "a123bc77", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["plate"]["latin"] for r in rows] == ["A123BC77"]
    assert "crop_jpeg" not in rows[0]


def test_events_list_goes_on_past_a_corrupt_row(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(tmp_path / "events.db") as raw:  # one flipped bit in the newest event
        event_id, sealed = raw.execute(
            "SELECT event_id, sealed_event FROM events ORDER BY captured_at DESC LIMIT 1"
        ).fetchone()
        flipped = bytearray(sealed)
        flipped[20] ^= 0x01
        raw.execute("UPDATE events SET sealed_event = ? WHERE event_id = ?", (bytes(flipped), event_id))
    assert main(["events", "list", "--config", str(stored)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "А123ВС77" in out[0]
    assert f"event {event_id} moved to quarantine" in caplog.text
    assert "Е456КМ99" not in caplog.text and "E456KM99" not in caplog.text  # the id, never the plate


def test_events_export_writes_csv_oldest_first(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    assert main(["events", "export", "--config", str(stored), "--format", "csv", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("event_id,") and "А123ВС77" in lines[1] and "Е456КМ99" in lines[2]


def test_events_on_a_missing_store_fail_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path / "edge.yaml", f"store:\n  path: {tmp_path / 'none.db'}\n")
    assert main(["events", "list", "--config", str(config)]) == 1
    assert "no event store at" in capsys.readouterr().err


def test_run_and_demo_cap_malloc_arenas_as_the_service_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """`anpr-edge run` started by hand uses memory as the systemd unit's MALLOC_ARENA_MAX makes it
    (the unit and the CLI name the same cap); an operator's own MALLOC_ARENA_MAX wins."""
    import platform

    from edge.cli import AGENT_MALLOC_ARENAS, cap_malloc_arenas

    unit = (Path(__file__).resolve().parents[2] / "systemd" / "anpr-edge.service").read_text()
    assert f"Environment=MALLOC_ARENA_MAX={AGENT_MALLOC_ARENAS}" in unit
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_malloc_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the arena cap is a glibc setting; this C library is not glibc")
    assert cap_malloc_arenas() is True
