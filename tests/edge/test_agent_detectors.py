"""How the agent's cameras get detectors: a detector that serves one caller at a time is made for
each camera, or shared as at most `detector.parallel` instances borrowed per detection, never one
by two cameras at once; the shipped models read each camera's plate either way."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from agent_helpers import TEST_VERSIONS, make_agent, make_config, open_test_store
from edge_scene import ColourPlateDetector, ColourPlateReader, Passing, write_clip

from common.config import DetectorConfig, ReaderConfig
from common.events import PlateEvent
from edge.agent import EdgeAgent
from edge.events.sinks import CallbackSink
from edge.inference.detector_pool import thread_safe
from edge.inference.models import ModelSet, load_models
from edge.inference.protocols import PlateDetection
from edge.samples import SAMPLE_CLIP, SAMPLE_CLIP_TRUTH


class _OneCallerDetector(ColourPlateDetector):
    """Like an OpenVINO infer request: one detect() at a time per instance, or it is corrupted."""

    thread_safe = False

    def __init__(self) -> None:
        super().__init__()
        self.busy = threading.Lock()
        self.overlaps = 0

    def detect(self, frame: np.ndarray) -> list[PlateDetection]:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()
        try:
            return super().detect(frame)
        finally:
            self.busy.release()


def _run_to_end(agent: EdgeAgent, timeout: float = 120.0) -> None:
    agent.start()
    try:
        assert agent.wait_until_finished(timeout), "the clips were not processed in time"
    finally:
        agent.stop()


def test_by_default_each_camera_gets_its_own_instance(tmp_path: Path) -> None:
    made: list[_OneCallerDetector] = []

    def make() -> _OneCallerDetector:
        made.append(_OneCallerDetector())
        return made[-1]

    loaded = _OneCallerDetector()
    models = ModelSet(loaded, ColourPlateReader(), TEST_VERSIONS, make)
    clip = str(write_clip(tmp_path / "c.avi", [Passing("red", 0, 20)], total_frames=20))
    cams = [{"id": f"c{i}", "source": clip, "motion_threshold": 0} for i in range(3)]
    _run_to_end(make_agent(make_config(tmp_path, cams), open_test_store(tmp_path / "e.db"), models))
    assert [d.calls for d in made] == [20, 20, 20] and loaded.calls == 0


@pytest.mark.parametrize("can_make_more", [True, False])
def test_cameras_share_at_most_the_pools_instances_and_never_one_at_once(
    tmp_path: Path, can_make_more: bool
) -> None:
    made = [_OneCallerDetector()]

    def make() -> _OneCallerDetector:
        made.append(_OneCallerDetector())
        return made[-1]

    models = ModelSet(made[0], ColourPlateReader(), TEST_VERSIONS, make if can_make_more else None)
    clip = str(write_clip(tmp_path / "c.avi", [Passing("red", 0, 20)], total_frames=20))
    cams = [{"id": f"c{i}", "source": clip, "motion_threshold": 0} for i in range(4)]
    config = make_config(tmp_path, cams, detector={"parallel": 2})
    agent = make_agent(config, open_test_store(tmp_path / "e.db"), models)
    _run_to_end(agent)
    assert agent.shared_detectors is not None and agent.shared_detectors.instances == len(made)
    assert len(made) <= (2 if can_make_more else 1)
    assert sum(d.calls for d in made) == 80  # every frame of every camera was looked at
    assert sum(d.overlaps for d in made) == 0


def test_two_cameras_detect_at_the_same_time_with_two_instances(tmp_path: Path) -> None:
    both_inside = threading.Barrier(2, timeout=30)  # broken if one camera waited for the other

    class _Meeting(_OneCallerDetector):
        def __init__(self) -> None:
            super().__init__()
            self.met = False

        def detect(self, frame: np.ndarray) -> list[PlateDetection]:
            if not self.met:  # each instance's first detection waits for the other's
                both_inside.wait()
                self.met = True
            return super().detect(frame)

    made = [_Meeting()]

    def make() -> _Meeting:
        made.append(_Meeting())
        return made[-1]

    models = ModelSet(made[0], ColourPlateReader(), TEST_VERSIONS, make)
    clip = str(write_clip(tmp_path / "c.avi", [Passing("red", 0, 20)], total_frames=20))
    cams = [{"id": f"c{i}", "source": clip, "motion_threshold": 0} for i in range(3)]
    config = make_config(tmp_path, cams, detector={"parallel": 2})
    agent = make_agent(config, open_test_store(tmp_path / "e.db"), models)
    _run_to_end(agent)
    assert not both_inside.broken and len(made) == 2
    assert sum(d.calls for d in made) == 60 and sum(d.overlaps for d in made) == 0


@pytest.fixture(scope="module")
def first_car(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The bundled clip's first passing car (frames 0-119) as an MJPEG file, and its plate."""
    import json

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


@pytest.mark.parametrize("parallel", [None, 2])
def test_three_cameras_on_shipped_openvino_detectors_each_read_their_plate(
    tmp_path: Path, first_car: tuple[Path, str], parallel: int | None
) -> None:
    clip, plate = first_car
    detector = DetectorConfig.model_validate({"runtime": "openvino", "parallel": parallel})
    models = load_models(detector, ReaderConfig())
    made = []
    make = models.make_detector
    assert make is not None and not thread_safe(models.detector)

    def counted() -> object:
        made.append(make())
        return made[-1]

    models = ModelSet(models.detector, models.reader, models.versions, counted)  # type: ignore[arg-type]
    events: list[PlateEvent] = []
    cams = [{"id": f"c{i}", "source": str(clip)} for i in range(3)]
    config = make_config(tmp_path, cams, detector=detector.model_dump(mode="json"))
    store = open_test_store(tmp_path / "e.db")
    _run_to_end(make_agent(config, store, models, sinks=[CallbackSink(events.append)]))
    # one for each camera, or the loaded one and at most one more
    assert len(made) == 3 if parallel is None else len(made) <= 1
    assert sorted((e.channel_id, e.plate.latin) for e in events) == [(f"c{i}", plate) for i in range(3)]
