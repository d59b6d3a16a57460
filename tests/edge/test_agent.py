"""The agent end to end on colour-plate clips: one event per passage, voting, reload, full disk, logs."""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from agent_helpers import TEST_VERSIONS, colour_models, make_agent, make_config, open_test_store, wait_for
from edge_scene import ColourPlateDetector, ColourPlateReader, Passing, write_clip

from common.events import ModelVersions, PlateEvent
from common.plates.reading import PlateReading
from edge.agent import EdgeAgent
from edge.events.sinks import CallbackSink
from edge.inference.models import ModelSet
from edge.store import StoreFullError

THREE_CARS = [Passing("red", 5, 40), Passing("green", 60, 40, y=120), Passing("blue", 115, 40, y=260)]


@pytest.fixture(scope="module")
def three_cars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three plates pass one after the other (written once: encoding is the slow part)."""
    return write_clip(tmp_path_factory.mktemp("clips") / "three.avi", THREE_CARS, total_frames=170)


def _run_to_end(agent: EdgeAgent, timeout: float = 60.0) -> None:
    agent.start()
    try:
        assert agent.wait_until_finished(timeout), "the clip was not processed in time"
    finally:
        agent.stop()


def test_each_vehicle_passage_gives_exactly_one_event_with_its_best_crop(
    tmp_path: Path, three_cars: Path
) -> None:
    clip = three_cars
    config = make_config(tmp_path, [{"id": "gate", "source": str(clip)}], site_id="depot", device_id="box7")
    key = os.urandom(32)
    printed: list[PlateEvent] = []
    store = open_test_store(tmp_path / "events.db", key)
    agent = make_agent(config, store, sinks=[CallbackSink(printed.append)])
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
    store = open_test_store(tmp_path / "e.db")
    agent = make_agent(config, store, colour_models(reader), sinks=[CallbackSink(printed.append)])
    _run_to_end(agent)
    assert [e.plate.latin for e in printed] == ["A123BC77"]
    assert printed[0].confidence > 0.5


@pytest.mark.parametrize(("window", "expected"), [(30.0, 1), (0.0, 2)])
def test_the_same_plate_again_within_the_repeat_window_is_suppressed(
    tmp_path: Path, window: float, expected: int
) -> None:
    twice = [Passing("red", 0, 30), Passing("red", 90, 30)]
    clip = write_clip(tmp_path / "twice.avi", twice, total_frames=125)
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


def test_a_full_disk_holds_events_retries_them_and_other_channels_go_on(
    tmp_path: Path, three_cars: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = os.urandom(32)
    store = open_test_store(tmp_path / "full.db", key, size_limit_mb=0.5, max_disk_mb=0.1, retention_days=1)
    # Fill the disk with old, already-synced events until the store refuses, ever smaller ones
    # last, so that no room is left for even a small new event.
    old = datetime.now(UTC) - timedelta(days=10)
    for crop_bytes in (20_000, 2_000, 200):
        with pytest.raises(StoreFullError):
            for _ in range(10_000):
                store.add(_old_event(old, crop_bytes))
    store.mark_synced(e.event_id for e in store.query(limit=10_000))

    clip = three_cars
    idle = write_clip(tmp_path / "idle.avi", [], total_frames=20)
    config = make_config(
        tmp_path,
        [
            {"id": "gate", "source": str(clip)},
            {"id": "yard", "source": str(idle), "loop": True, "realtime": True},
        ],
    )
    agent = make_agent(config, store, event_retry_s=0.05)
    with caplog.at_level(logging.ERROR, logger="edge.store.sink"):
        agent.start()
        try:
            assert wait_for(lambda: agent.workers["gate"].finished, timeout=60)
            assert wait_for(lambda: agent.store_sink is not None and len(agent.store_sink.held) == 3)
            frames_before = agent.workers["yard"].stats.processed
            assert wait_for(lambda: agent.workers["yard"].stats.processed > frames_before)  # yard goes on
            assert "event store refused a write (StoreFullError" in caplog.text
            _ok, detail = agent.ready()
            assert detail["events_held"] == 3
            store.enforce_retention()  # retention frees the space of the expired, synced events
            assert wait_for(lambda: len(agent.store_sink.held) == 0, timeout=30)  # type: ignore[union-attr]
        finally:
            agent.stop()
    with open_test_store(tmp_path / "full.db", key) as reopened:
        latins = sorted(e.plate.latin for e in reopened.query(since=old + timedelta(days=5), limit=100))
    assert latins == ["A123BC77", "E456KM99", "O789PT50"]


def _old_event(when: datetime, crop_bytes: int = 20_000) -> PlateEvent:
    return PlateEvent(
        site_id="s",
        device_id="d",
        channel_id="old",
        captured_at=when,
        first_seen=when,
        last_seen=when,
        plate=PlateReading(confidence=0.9, text="Х999ХХ99", latin="X999XX99", country="RU", valid=True),
        confidence=0.9,
        box=(0, 0, 10, 10),
        frames=3,
        crop_jpeg=os.urandom(crop_bytes),
        models=ModelVersions(detector="d", reader="r"),
    )


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


def test_plates_outside_the_camera_roi_are_ignored(tmp_path: Path, three_cars: Path) -> None:
    clip = three_cars
    camera = {"id": "gate", "source": str(clip), "roi": (0.0, 0.0, 1.0, 0.5)}  # the upper half only
    printed: list[PlateEvent] = []
    store = open_test_store(tmp_path / "e.db")
    agent = make_agent(make_config(tmp_path, [camera]), store, sinks=[CallbackSink(printed.append)])
    _run_to_end(agent)
    assert [e.plate.latin for e in printed] == ["E456KM99"]


class _SingleThreadDetector(ColourPlateDetector):
    """Like an OpenVINO infer request: one detect() at a time per instance, or it is corrupted."""

    thread_safe = False

    def __init__(self) -> None:
        super().__init__()
        self.busy = threading.Lock()
        self.overlaps = 0

    def detect(self, frame):  # type: ignore[no-untyped-def]
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()
        try:
            return super().detect(frame)
        finally:
            self.busy.release()


@pytest.mark.parametrize("can_make_more", [True, False])
def test_channels_never_run_one_unsafe_detector_at_once(tmp_path: Path, can_make_more: bool) -> None:
    made: list[_SingleThreadDetector] = []

    def make() -> _SingleThreadDetector:
        made.append(_SingleThreadDetector())
        return made[-1]

    shared = _SingleThreadDetector()
    models = ModelSet(shared, ColourPlateReader(), TEST_VERSIONS, make if can_make_more else None)
    clip = str(write_clip(tmp_path / "c.avi", [Passing("red", 0, 20)], total_frames=20))
    cams = [{"id": f"c{i}", "source": clip, "motion_threshold": 0} for i in range(3)]
    agent = make_agent(make_config(tmp_path, cams), open_test_store(tmp_path / "e.db"), models)
    _run_to_end(agent)
    used = [shared, *made] if can_make_more else [shared]  # the first camera takes the loaded one
    assert len(used) == (3 if can_make_more else 1)
    assert all(d.calls == 20 for d in used) if can_make_more else shared.calls == 60
    assert sum(d.overlaps for d in used) == 0



@pytest.fixture(scope="module")
def first_car(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The bundled clip's first passing car (frames 0-119) as an MJPEG file, and its plate."""
    import json

    from edge.samples import SAMPLE_CLIP, SAMPLE_CLIP_TRUTH

    truth = json.loads(SAMPLE_CLIP_TRUTH.read_text(encoding="utf-8"))["plates"][0]
    assert truth["last_frame"] < 120
    source = cv2.VideoCapture(str(SAMPLE_CLIP))
    path = tmp_path_factory.mktemp("clips") / "first_car.avi"
    size = (int(source.get(cv2.CAP_PROP_FRAME_WIDTH)), int(source.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    for _ in range(120):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    source.release()
    return path, truth["latin"]


def test_three_cameras_on_their_own_shipped_openvino_detectors_each_read_their_plate(
    tmp_path: Path, first_car: tuple[Path, str]
) -> None:
    from common.config import DetectorConfig, ReaderConfig
    from edge.inference.models import load_models

    clip, plate = first_car
    loaded = load_models(DetectorConfig.model_validate({"runtime": "openvino"}), ReaderConfig())
    assert loaded.detector.thread_safe is False  # type: ignore[attr-defined]  # one caller at a time
    made = []
    make = loaded.make_detector
    assert make is not None

    def counted():  # type: ignore[no-untyped-def]
        made.append(make())
        return made[-1]

    models = ModelSet(loaded.detector, loaded.reader, loaded.versions, counted)
    events: list[PlateEvent] = []
    cams = [{"id": f"c{i}", "source": str(clip)} for i in range(3)]
    store = open_test_store(tmp_path / "e.db")
    _run_to_end(make_agent(make_config(tmp_path, cams), store, models, sinks=[CallbackSink(events.append)]))
    assert len(made) == 2  # one detector per camera (the first has the loaded one): none waits
    assert sorted((e.channel_id, e.plate.latin) for e in events) == [(f"c{i}", plate) for i in range(3)]


def test_the_shipped_detector_runs_from_reduced_grey_views_of_mjpeg_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.config import DetectorConfig, ReaderConfig
    from edge.inference.detector import OnnxPlateDetector
    from edge.inference.models import load_models

    views: list[tuple[tuple[int, ...], int, tuple[int, int]]] = []
    detect_view = OnnxPlateDetector.detect_view

    def spy(self, view: np.ndarray, reduction: int, frame_hw: tuple[int, int]):  # type: ignore[no-untyped-def]
        views.append((view.shape, reduction, frame_hw))
        return detect_view(self, view, reduction, frame_hw)

    monkeypatch.setattr(OnnxPlateDetector, "detect_view", spy)
    models = load_models(DetectorConfig(), ReaderConfig())
    clip = str(write_clip(tmp_path / "c.avi", [Passing("red", 0, 10)], total_frames=10, size=(1280, 720)))
    cams = [{"id": f"c{i}", "source": clip, "motion_threshold": 0} for i in range(2)]
    _run_to_end(make_agent(make_config(tmp_path, cams), open_test_store(tmp_path / "e.db"), models))
    # 720p MJPEG: every frame was detected on a 1/2-scale grey decode, none on a full BGR frame
    assert views == [((360, 640), 2, (720, 1280))] * 20
