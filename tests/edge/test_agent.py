"""The agent end to end on colour-plate clips: one event per passage, voting, reload, full disk, logs."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from agent_helpers import colour_models, make_agent, make_config, open_test_store, wait_for
from edge_scene import ColourPlateReader, Passing, write_clip

from common.events import PlateEvent
from edge.agent import EdgeAgent
from edge.sinks import CallbackSink

THREE_CARS = [Passing("red", 5, 40), Passing("green", 60, 40, y=120), Passing("blue", 115, 40, y=260)]


def _run_to_end(agent: EdgeAgent, timeout: float = 60.0) -> None:
    agent.start()
    try:
        assert agent.wait_until_finished(timeout), "the clip was not processed in time"
    finally:
        agent.stop()


def test_each_vehicle_passage_gives_exactly_one_event_with_its_best_crop(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "three.avi", THREE_CARS, total_frames=170)
    config = make_config(tmp_path, [{"id": "gate", "source": str(clip)}], site_id="depot", device_id="box7")
    key = os.urandom(32)
    printed: list[PlateEvent] = []
    agent = make_agent(config, open_test_store(tmp_path / "events.db", key), sinks=[CallbackSink(printed.append)])
    _run_to_end(agent)

    assert [e.plate.latin for e in printed] == ["A123BC77", "E456KM99", "O789PT50"]
    with open_test_store(tmp_path / "events.db", key) as store:
        stored = sorted(store.iter_events(), key=lambda e: e.captured_at)
    assert [e.event_id for e in stored] == [e.event_id for e in printed]
    first = stored[0]
    assert first.event_id.version == 7
    assert (first.site_id, first.device_id, first.channel_id) == ("depot", "box7", "gate")
    assert first.plate.text == "А123ВС77" and first.plate.country == "RU" and first.plate.format == "standard"
    assert first.models.detector == "colour-detector-test"
    assert first.first_seen <= first.captured_at <= first.last_seen
    assert first.captured_at.tzinfo is not None and first.captured_at.utcoffset() == timedelta(0)
    assert first.frames >= 2
    x1, y1, x2, y2 = first.box
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360 and y1 >= 195
    crop = cv2.imdecode(np.frombuffer(first.crop_jpeg or b"", np.uint8), cv2.IMREAD_COLOR)
    assert crop is not None and crop.shape[1] >= 90  # the plate, not the frame
    thumb = cv2.imdecode(np.frombuffer(first.thumbnail_jpeg or b"", np.uint8), cv2.IMREAD_COLOR)
    assert thumb is not None and thumb.shape[:2] == (360, 640)


def test_voting_turns_misread_frames_into_the_right_plate(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "one.avi", [Passing("red", 0, 30)], total_frames=40)
    reader = ColourPlateReader(mistakes=[0, 3, 7, 12])  # every few reads one digit is wrong
    config = make_config(tmp_path, [{"id": "gate", "source": str(clip)}])
    printed: list[PlateEvent] = []
    agent = make_agent(
        config, open_test_store(tmp_path / "e.db"), colour_models(reader), sinks=[CallbackSink(printed.append)]
    )
    _run_to_end(agent)
    assert [e.plate.latin for e in printed] == ["A123BC77"]
    assert printed[0].confidence > 0.5


@pytest.mark.parametrize(("window", "expected"), [(30.0, 1), (0.0, 2)])
def test_the_same_plate_again_within_the_repeat_window_is_suppressed(
    tmp_path: Path, window: float, expected: int
) -> None:
    clip = write_clip(tmp_path / "twice.avi", [Passing("red", 0, 30), Passing("red", 90, 30)], total_frames=125)
    config = make_config(
        tmp_path, [{"id": "gate", "source": str(clip)}], tracking={"min_reads": 2, "repeat_window_s": window}
    )
    printed: list[PlateEvent] = []
    agent = make_agent(config, open_test_store(tmp_path / "e.db"), sinks=[CallbackSink(printed.append)])
    _run_to_end(agent)
    assert len(printed) == expected


def test_min_reads_keeps_a_glimpse_from_becoming_an_event(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "glimpse.avi", [Passing("blue", 2, 3)], total_frames=10)
    config = make_config(tmp_path, [{"id": "gate", "source": str(clip)}], tracking={"min_reads": 5})
    printed: list[PlateEvent] = []
    agent = make_agent(config, open_test_store(tmp_path / "e.db"), sinks=[CallbackSink(printed.append)])
    _run_to_end(agent)
    assert printed == []


def test_a_reload_restarts_only_the_cameras_that_changed(tmp_path: Path) -> None:
    clip = str(write_clip(tmp_path / "loop.avi", [Passing("red", 0, 20)], total_frames=25))
    cams = [{"id": c, "source": clip, "loop": True, "realtime": True} for c in ("a", "b", "old")]
    config = make_config(tmp_path, cams)
    agent = make_agent(config, open_test_store(tmp_path / "e.db"))
    agent.start()
    try:
        before = dict(agent.workers)
        new_cams = [cams[0], {**cams[1], "fps_limit": 5}, {"id": "new", "source": clip, "loop": True}]
        agent.reload(make_config(tmp_path, new_cams, version=2, tracking={"min_reads": 3}))
        assert set(agent.workers) == {"a", "b", "new"}
        assert agent.workers["a"] is before["a"]  # untouched
        assert agent.workers["b"] is not before["b"]  # restarted with its new settings
        assert not before["b"].is_alive() and not before["old"].is_alive()
        assert agent.workers["a"].judge.tracking.min_reads == 3  # tracking applies in place
        assert wait_for(lambda: agent.workers["new"].capture.stats.frames > 0)
        assert agent.config.version == 2
    finally:
        agent.stop()


def test_a_bad_config_file_on_reload_keeps_the_running_config(tmp_path: Path) -> None:
    clip = str(write_clip(tmp_path / "loop.avi", [], total_frames=5))
    config_file = tmp_path / "edge.yaml"
    config_file.write_text(f"cameras:\n  - id: a\n    source: {clip}\n    loop: true\n")
    config = make_config(tmp_path, [{"id": "a", "source": clip, "loop": True}])
    agent = make_agent(config, open_test_store(tmp_path / "e.db"), config_path=config_file)
    agent.start()
    try:
        config_file.write_text("cameras:\n  - id: a\n    source: x\n    fps_limit: -3\n")
        assert agent.reload_from_file() is False
        assert agent.config is config and agent.workers["a"].is_alive()
    finally:
        agent.stop()


def test_a_full_disk_holds_events_retries_them_and_other_channels_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = os.urandom(32)
    store = open_test_store(tmp_path / "full.db", key, size_limit_mb=0.5, max_disk_mb=0.1, retention_days=1)
    filler_clip = write_clip(tmp_path / "filler.avi", [Passing("green", 0, 10)], total_frames=12)
    # Fill the disk with old, already-synced events until the store refuses.
    old = datetime.now(UTC) - timedelta(days=10)
    filler = _an_event(tmp_path, filler_clip, old)
    added = 0
    with pytest.raises(StoreFullError):
        for _ in range(10_000):
            store.add(filler.model_copy(update={"event_id": _new_id()}))
            added += 1
    store.mark_synced(e.event_id for e in store.query(limit=10_000))

    clip = write_clip(tmp_path / "cars.avi", THREE_CARS, total_frames=170)
    idle = write_clip(tmp_path / "idle.avi", [], total_frames=20)
    config = make_config(
        tmp_path,
        [{"id": "gate", "source": str(clip)}, {"id": "yard", "source": str(idle), "loop": True, "realtime": True}],
    )
    agent = make_agent(config, store)
    with caplog.at_level(logging.ERROR, logger="edge.sinks"):
        agent.start()
        try:
            assert wait_for(lambda: agent.workers["gate"].finished, timeout=60)
            assert wait_for(lambda: agent.store_sink is not None and len(agent.store_sink.held) == 3)
            frames_before = agent.workers["yard"].stats.processed
            assert wait_for(lambda: agent.workers["yard"].stats.processed > frames_before)  # yard goes on
            assert "event store refused a write (StoreFullError" in caplog.text
            ok, detail = agent.ready()
            assert detail["events_held"] == 3
            store.enforce_retention()  # retention frees the space of the expired, synced events
            agent.dispatcher.retry_interval_s = 0.05  # type: ignore[union-attr]
            agent.dispatcher.submit  # the retry loop runs on its own; no new event is needed
            assert wait_for(lambda: len(agent.store_sink.held) == 0, timeout=30)  # type: ignore[union-attr]
        finally:
            agent.stop()
    with open_test_store(tmp_path / "full.db", key) as reopened:
        latins = sorted(e.plate.latin for e in reopened.query(since=old + timedelta(days=5), limit=100))
    assert latins == ["A123BC77", "E456KM99", "O789PT50"]


def _new_id():  # type: ignore[no-untyped-def]
    from common.ids import uuid7

    return uuid7()


def _an_event(tmp_path: Path, clip: Path, when: datetime) -> PlateEvent:
    """One real event made by the pipeline, re-dated into the past."""
    printed: list[PlateEvent] = []
    config = make_config(tmp_path / "f", [{"id": "gate", "source": str(clip)}])
    (tmp_path / "f").mkdir()
    agent = make_agent(config, open_test_store(tmp_path / "f" / "e.db"), sinks=[CallbackSink(printed.append)])
    _run_to_end(agent)
    return printed[0].model_copy(update={"captured_at": when, "first_seen": when, "last_seen": when})


def test_logs_never_show_a_plate_in_clear(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clip = write_clip(tmp_path / "one.avi", [Passing("red", 0, 20)], total_frames=25)
    config = make_config(tmp_path, [{"id": "gate", "source": str(clip)}])
    agent = make_agent(config, open_test_store(tmp_path / "e.db"))
    with caplog.at_level(logging.DEBUG):
        _run_to_end(agent)
        logging.getLogger("edge.pipeline").warning("a careless message about А123ВС77")
    assert "event" in caplog.text
    for spelling in ("А123ВС77", "A123BC77"):
        assert spelling not in caplog.text
