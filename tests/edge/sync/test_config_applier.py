"""Config pushes: merge patches checked on the device, swapped atomically, answered with an ack."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.config import EdgeConfig, MqttConfig, load_edge_config
from common.config_push import config_hash, redacted
from common.messages import ConfigPush
from edge.sync import ConfigApplier, write_atomically

SITE, DEVICE = "site-1", "gate.north"


def running_config(version: int = 3) -> EdgeConfig:
    return EdgeConfig(
        version=version, site_id=SITE, device_id=DEVICE, cameras=[], mqtt=MqttConfig(enabled=True)
    )


def push(version: int, base: EdgeConfig | None = None, **patch: Any) -> bytes:
    """A merge patch made, as central makes it, against the report of `base` (the running config)."""
    base_hash = config_hash(redacted(base or running_config(3)))
    message = ConfigPush(
        version=version, patch=patch, base_hash=base_hash, issued_at=datetime.now(UTC), issued_by="ops@x"
    )
    return message.to_json()


class Reloads:
    def __init__(self, fail: bool = False) -> None:
        self.seen: list[EdgeConfig] = []
        self.fail = fail

    def __call__(self, config: EdgeConfig) -> None:
        if self.fail:
            raise RuntimeError("camera cam9 cannot be opened")
        self.seen.append(config)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(
        "version: 3\nsite_id: site-1\ndevice_id: gate.north\ncameras: []\nmqtt: {enabled: true}\n"
    )
    return path


def test_a_newer_valid_config_is_written_reloaded_and_acknowledged(config_path: Path) -> None:
    reloads = Reloads()
    applier = ConfigApplier(config_path, running_config(3), reloads)
    ack = applier.handle(push(4, tracking={"min_reads": 3}))
    assert ack is not None
    assert (ack.version, ack.accepted, ack.outcome, ack.reason, ack.running_version) == (
        4,
        True,
        "applied",
        None,
        4,
    )
    assert [c.tracking.min_reads for c in reloads.seen] == [3]
    on_disk = load_edge_config(config_path)  # what the agent reads after a restart
    assert (on_disk.version, on_disk.tracking.min_reads) == (4, 3)
    assert applier.running_version == 4
    assert applier.counts() == {"applied": 1, "rejected": 0, "stale": 0, "malformed": 0}


def test_an_invalid_config_is_rejected_with_the_field_and_the_old_one_stays(config_path: Path) -> None:
    before = config_path.read_bytes()
    reloads = Reloads()
    applier = ConfigApplier(config_path, running_config(3), reloads)
    ack = applier.handle(push(4, tracking={"min_reads": 0}))
    assert ack is not None and (ack.accepted, ack.outcome, ack.running_version) == (False, "rejected", 3)
    assert "tracking.min_reads" in (ack.reason or "")
    assert config_path.read_bytes() == before and reloads.seen == []


@pytest.mark.parametrize("version", [3, 2])
def test_an_old_or_duplicate_version_is_ignored_with_a_stale_ack(config_path: Path, version: int) -> None:
    reloads = Reloads()
    applier = ConfigApplier(config_path, running_config(3), reloads)
    ack = applier.handle(push(version))
    assert ack is not None and (ack.outcome, ack.accepted, ack.running_version) == ("stale", False, 3)
    assert "not newer" in (ack.reason or "") and reloads.seen == []


def test_the_retained_push_delivered_again_after_applying_is_stale(config_path: Path) -> None:
    applier = ConfigApplier(config_path, running_config(3), Reloads())
    payload = push(5)
    first, again = applier.handle(payload), applier.handle(payload)
    assert first is not None and again is not None
    assert (first.outcome, again.outcome, again.running_version) == ("applied", "stale", 5)


def test_a_config_for_another_device_is_refused(config_path: Path) -> None:
    applier = ConfigApplier(config_path, running_config(3), Reloads())
    ack = applier.handle(push(4, device_id="gate.south"))
    assert ack is not None and ack.outcome == "rejected"
    assert "gate.south" in (ack.reason or "")


def test_a_config_that_would_disconnect_the_device_is_refused(config_path: Path) -> None:
    applier = ConfigApplier(config_path, running_config(3), Reloads())
    ack = applier.handle(push(4, mqtt={"enabled": False}))
    assert ack is not None and ack.outcome == "rejected" and "cut this device off" in (ack.reason or "")


def test_a_failed_reload_restores_the_old_file(config_path: Path) -> None:
    before = config_path.read_bytes()
    applier = ConfigApplier(config_path, running_config(3), Reloads(fail=True))
    ack = applier.handle(push(4))
    assert ack is not None and ack.outcome == "rejected" and "cam9" in (ack.reason or "")
    assert config_path.read_bytes() == before and applier.running_version == 3


def test_push_and_inner_versions_must_agree(config_path: Path) -> None:
    applier = ConfigApplier(config_path, running_config(3), Reloads())
    payload = json.loads(push(4))
    payload["patch"]["version"] = 9
    ack = applier.handle(json.dumps(payload).encode())
    assert ack is not None and (ack.version, ack.outcome) == (4, "rejected")
    assert "version" in (ack.reason or "")


@pytest.mark.parametrize(
    "payload", [b"", b"\xff\xfe", b"[]", b'{"config": {}}', b'{"version": "7"}', b"{" * 5000]
)
def test_payloads_without_a_version_get_no_ack_but_are_counted(config_path: Path, payload: bytes) -> None:
    applier = ConfigApplier(config_path, running_config(3), Reloads())
    assert applier.handle(payload) is None
    assert applier.counts()["malformed"] == 1


def test_a_broken_push_with_a_version_is_rejected_by_version(config_path: Path) -> None:
    applier = ConfigApplier(config_path, running_config(3), Reloads())
    ack = applier.handle(b'{"version": 8, "patch": "not a mapping"}')
    assert ack is not None and (ack.version, ack.outcome) == (8, "rejected")
    assert "ConfigPush" in (ack.reason or "")


def test_write_atomically_replaces_whole_files_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "conf" / "edge.yaml"
    write_atomically(target, b"version: 1\n")
    os.chmod(target, 0o640)
    write_atomically(target, b"version: 2\n")
    assert yaml.safe_load(target.read_text()) == {"version": 2}
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["edge.yaml"]  # no temp file left behind


def test_a_partial_push_changes_only_what_it_names(config_path: Path) -> None:
    """The measured bug: a push of one setting reset the store, MQTT and HTTP settings to defaults."""
    running = EdgeConfig(
        version=3, site_id=SITE, device_id=DEVICE, cameras=[],
        store={"path": "/var/lib/anpr/events.db", "key_file": "/etc/anpr/credentials/store.key"},
        mqtt=MqttConfig(enabled=True, host="mqtt.example.org", port=8883, tls=True),
        http={"port": 9200},
    )
    applier = ConfigApplier(config_path, running, Reloads())
    ack = applier.handle(push(4, base=running, tracking={"min_reads": 4}))
    assert ack is not None and ack.outcome == "applied"
    on_disk = load_edge_config(config_path)
    assert on_disk.tracking.min_reads == 4
    assert on_disk.store == running.store and on_disk.mqtt == running.mqtt and on_disk.http == running.http


def test_null_in_a_patch_puts_a_setting_back_to_its_default(config_path: Path) -> None:
    running = EdgeConfig.model_validate({**running_config(3).model_dump(), "tracking": {"min_reads": 5}})
    applier = ConfigApplier(config_path, running, Reloads())
    ack = applier.handle(push(4, base=running, tracking={"min_reads": None}))
    assert ack is not None and ack.outcome == "applied"
    assert applier.current.tracking.min_reads == EdgeConfig().tracking.min_reads


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"store": {"key_file": "/tmp/other.key"}}, "store.key_file"),
        ({"store": {"path": "/tmp/other.db"}}, "store.path"),
        ({"store": None}, "store.path"),
        ({"mqtt": {"enabled": False}}, "mqtt.enabled"),
    ],
)
def test_a_push_never_moves_or_rekeys_the_store_nor_cuts_the_link(
    config_path: Path, patch: dict[str, Any], field: str
) -> None:
    running = EdgeConfig(
        version=3, site_id=SITE, device_id=DEVICE, cameras=[],
        store={"path": "/var/lib/anpr/events.db", "key_file": "/etc/anpr/store.key"},
        mqtt=MqttConfig(enabled=True),
    )
    applier = ConfigApplier(config_path, running, Reloads())
    ack = applier.handle(push(4, base=running, **patch))
    assert ack is not None and ack.outcome == "rejected" and (ack.reason or "").startswith(field)


def test_a_push_made_against_another_config_is_refused(config_path: Path) -> None:
    applier = ConfigApplier(config_path, running_config(3), Reloads())
    elsewhere = EdgeConfig.model_validate({**running_config(3).model_dump(), "http": {"port": 1234}})
    ack = applier.handle(push(4, base=elsewhere, tracking={"min_reads": 3}))
    assert ack is not None and ack.outcome == "rejected"
    assert "push again against its report" in (ack.reason or "")
    assert applier.running_version == 3


def test_a_redacted_camera_password_sent_back_keeps_the_real_one(config_path: Path) -> None:
    camera = {"id": "gate", "source": "rtsp://admin:s3cret@10.0.0.5/stream"}
    running = EdgeConfig(
        version=3, site_id=SITE, device_id=DEVICE, cameras=[camera], mqtt=MqttConfig(enabled=True)
    )
    report = redacted(running)
    assert report["cameras"][0]["source"] == "rtsp://admin:REDACTED@10.0.0.5/stream"
    edited = [{**report["cameras"][0], "fps_limit": 5}]  # the operator edits the reported list
    applier = ConfigApplier(config_path, running, Reloads())
    ack = applier.handle(push(4, base=running, cameras=edited))
    assert ack is not None and ack.outcome == "applied"
    assert applier.current.cameras[0].source == "rtsp://admin:s3cret@10.0.0.5/stream"
    assert applier.current.cameras[0].fps_limit == 5


def test_pushes_are_checked_against_the_config_a_local_reload_put_in_place(config_path: Path) -> None:
    """SIGHUP re-reads the file into the agent; the applier follows the agent, not its start copy."""
    agent_config = [running_config(3)]
    def reload(new: EdgeConfig) -> None:  # as EdgeAgent.reload: the agent now runs `new`
        agent_config[0] = new

    applier = ConfigApplier(config_path, agent_config[0], reload, running=lambda: agent_config[0])
    agent_config[0] = EdgeConfig.model_validate({**running_config(4).model_dump(), "http": {"port": 9300}})
    stale_base = applier.handle(push(5, base=running_config(3), tracking={"min_reads": 3}))
    assert stale_base is not None and stale_base.outcome == "rejected" and stale_base.running_version == 4
    ack = applier.handle(push(6, base=agent_config[0], tracking={"min_reads": 3}))
    assert ack is not None and ack.outcome == "applied"
    assert (applier.current.http.port, applier.current.tracking.min_reads) == (9300, 3)
