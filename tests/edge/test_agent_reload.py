"""Reloading the config without a restart: from the file (SIGHUP) and from a central push."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from agent_helpers import TEST_VERSIONS, make_agent, make_config, open_test_store, wait_for
from edge_scene import ColourPlateDetector, ColourPlateReader, Passing, write_clip

from common.config_push import config_hash, redacted
from common.messages import ConfigPush
from edge.inference.models import ModelSet
from edge.sync import ConfigApplier


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


def test_a_restarted_camera_takes_back_the_loaded_detector_and_no_two_share_one(tmp_path: Path) -> None:
    class _OneCaller(ColourPlateDetector):
        thread_safe = False  # like an OpenVINO infer request

    loaded, made = _OneCaller(), []

    def make() -> _OneCaller:
        made.append(_OneCaller())
        return made[-1]

    models = ModelSet(loaded, ColourPlateReader(), TEST_VERSIONS, make)
    clip = str(write_clip(tmp_path / "loop.avi", [Passing("red", 0, 20)], total_frames=25))
    cams = [{"id": c, "source": clip, "loop": True, "realtime": True} for c in ("a", "b")]
    agent = make_agent(make_config(tmp_path, cams), open_test_store(tmp_path / "e.db"), models)
    agent.start()
    try:
        assert agent.workers["a"].detector is loaded and agent.workers["b"].detector is made[0]
        agent.reload(make_config(tmp_path, [{**cams[0], "fps_limit": 5}, cams[1]], version=2))
        assert agent.workers["a"].detector is loaded and len(made) == 1  # "a" restarted: no new one
        agent.reload(make_config(tmp_path, [cams[1]], version=3))  # "a" gone: its detector is free
        agent.reload(make_config(tmp_path, [cams[1], {**cams[0], "id": "c"}], version=4))
        assert agent.workers["c"].detector is loaded and agent.workers["b"].detector is made[0]
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


def test_a_config_pushed_by_central_is_applied_through_the_applier_callback(tmp_path: Path) -> None:
    clip = str(write_clip(tmp_path / "loop.avi", [], total_frames=5))
    config_file = tmp_path / "edge.yaml"
    first = {"id": "a", "source": clip, "loop": True, "realtime": True}
    config = make_config(tmp_path, [first])
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    agent = make_agent(config, open_test_store(tmp_path / "e.db"), config_path=config_file)
    agent.start()
    try:
        applier = ConfigApplier(config_file, config, agent.reload)
        pushed = make_config(tmp_path, [first, {**first, "id": "b"}], version=7)
        push = ConfigPush(
            version=7,
            patch={"cameras": pushed.model_dump(mode="json")["cameras"]},
            base_hash=config_hash(redacted(config)),
            issued_at=datetime.now(UTC),
            issued_by="test",
        )
        ack = applier.handle(push.model_dump_json().encode())
        assert ack is not None and ack.outcome == "applied", ack
        assert set(agent.workers) == {"a", "b"} and agent.config.version == 7
        assert wait_for(lambda: agent.workers["b"].capture.stats.frames > 0)
        assert yaml.safe_load(config_file.read_text())["version"] == 7
    finally:
        agent.stop()
