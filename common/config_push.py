"""Config push rules shared by central (which refuses a bad push) and the device (which checks again).

A push is an RFC 7396 JSON merge patch against the config the device reported (its effective
config, secrets redacted, with a hash): a key with a value sets it, a key with `null` removes it
(back to the default), a key not named keeps its value; lists are replaced whole. So a push that
names only `tracking.min_reads` changes only that, never resets the store, MQTT or HTTP settings.

Both sides run the same `apply_patch`: the EdgeConfig model, then the cross-field rules of
`push_refusal`. Central runs it on the reported config, the device on its own, so what the device
would refuse is refused at central first, with the field named.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from common.config import ConfigError, EdgeConfig, parse_edge_config

REDACTED = "REDACTED"


class PushRefused(ValueError):
    """A push the device would not apply; `field` is the dotted path of the offending setting."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: the result of applying `patch` to `target` (neither is modified)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _redact_source(source: str) -> str:
    """A camera URL with the password of its user info replaced (rtsp://user:secret@host/...)."""
    try:
        parts = urlsplit(source)
    except ValueError:
        return source
    if parts.password is None:
        return source
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))


def redacted(config: EdgeConfig) -> dict[str, Any]:
    """The whole effective config as JSON data, secrets redacted (camera URL passwords; the store
    key and the MQTT password are never in the config, only their paths)."""
    data = config.model_dump(mode="json")
    for camera in data["cameras"]:
        camera["source"] = _redact_source(camera["source"])
    return data


def config_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a (redacted) config's settings: what a push's base_hash names.

    The version is left out: it says which push is running, the hash what the settings are, so
    a push made against the same settings still applies after a stale or no-op version bump.
    """
    settings = {key: value for key, value in data.items() if key != "version"}
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _restore_redacted(patched: dict[str, Any], current: EdgeConfig) -> None:
    """A camera source sent back in its redacted form means "unchanged": put the real one back."""
    sources = {camera.id: camera.source for camera in current.cameras}
    cameras = patched.get("cameras")
    for camera in cameras if isinstance(cameras, list) else []:  # the model refuses anything else
        if not isinstance(camera, dict):
            continue
        real = sources.get(camera.get("id"))  # type: ignore[arg-type]
        if real is not None and camera.get("source") == _redact_source(real):
            camera["source"] = real


def push_refusal(current: EdgeConfig, new: EdgeConfig) -> PushRefused | None:
    """The cross-field rules a push must keep, beyond the model's own validation."""
    for name in ("site_id", "device_id"):
        pushed, own = getattr(new, name), getattr(current, name)
        if pushed != own:
            return PushRefused(name, f"{pushed!r} is not this device's ({own!r})")
    if current.mqtt.enabled and not new.mqtt.enabled:
        return PushRefused("mqtt.enabled", "false would cut this device off from central")
    if new.store.path != current.store.path:
        return PushRefused("store.path", "a push never moves the event store")
    if new.store.key_file != current.store.key_file:
        return PushRefused("store.key_file", "a push never changes the store key (a new key cannot read it)")
    return None


def apply_patch(current: EdgeConfig, patch: dict[str, Any], version: int) -> EdgeConfig:
    """The config `patch` makes of `current` at `version`; PushRefused names the field if it is bad.

    `current` is the device's own config on the device, and the reported (redacted) one at
    central; both give the same verdict because redaction changes no field a rule looks at.
    """
    if "version" in patch and patch["version"] != version:
        raise PushRefused("version", f"{patch['version']!r} differs from the push version {version}")
    patched = merge_patch(current.model_dump(mode="json"), patch)
    if not isinstance(patched, dict):
        raise PushRefused("(top level)", "a config patch must be a mapping")
    patched["version"] = version
    _restore_redacted(patched, current)
    try:
        new = parse_edge_config(patched, source=f"config version {version}")
    except ConfigError as exc:
        raise PushRefused(_first_field(exc), str(exc)) from exc
    problem = push_refusal(current, new)
    if problem is not None:
        raise problem
    return new


def _first_field(exc: ConfigError) -> str:
    # parse_edge_config's message: "<source>: invalid configuration\n  <field>: <why>\n ..."
    lines = str(exc).splitlines()
    return lines[1].strip().split(":", 1)[0] if len(lines) > 1 else "(top level)"
