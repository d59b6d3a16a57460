"""The config push rules shared by central and the device: RFC 7396 merge patch, redaction, hash."""

from __future__ import annotations

import pytest

from common.config import EdgeConfig
from common.config_push import PushRefused, apply_patch, config_hash, merge_patch, redacted

# RFC 7396, appendix A: (target, patch, result).
RFC_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_EXAMPLES)
def test_merge_patch_follows_the_rfc_examples(target: object, patch: object, result: object) -> None:
    before = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == before  # the target is not modified


def test_the_hash_ignores_the_version_and_changes_with_any_setting() -> None:
    base = EdgeConfig(site_id="s", device_id="d", cameras=[])
    bumped = EdgeConfig(version=9, site_id="s", device_id="d", cameras=[])
    changed = EdgeConfig(site_id="s", device_id="d", cameras=[], http={"port": 9200})  # type: ignore[arg-type]
    assert config_hash(redacted(base)) == config_hash(redacted(bumped)) != config_hash(redacted(changed))


def test_redaction_hides_camera_passwords_only() -> None:
    config = EdgeConfig(cameras=[
        {"id": "a", "source": "rtsp://admin:pa55@10.0.0.5:554/s1"},  # type: ignore[list-item]
        {"id": "b", "source": "rtsp://10.0.0.6/s1"},  # type: ignore[list-item]
        {"id": "c", "source": "/var/clips/gate.mp4"},  # type: ignore[list-item]
    ])
    sources = [camera["source"] for camera in redacted(config)["cameras"]]
    assert sources == ["rtsp://admin:REDACTED@10.0.0.5:554/s1", "rtsp://10.0.0.6/s1", "/var/clips/gate.mp4"]
    assert "pa55" not in str(redacted(config))


def test_apply_patch_names_the_field_it_refuses() -> None:
    current = EdgeConfig(site_id="s", device_id="d", cameras=[], mqtt={"enabled": True})  # type: ignore[arg-type]
    with pytest.raises(PushRefused) as refused:
        apply_patch(current, {"detector": {"threshold": 7}}, 2)
    assert refused.value.field.startswith("detector")
    assert apply_patch(current, {"tracking": {"min_reads": 4}}, 2).tracking.min_reads == 4
