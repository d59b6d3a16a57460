"""Applying a config pushed by central: validate, write atomically, reload, answer with an ack.

The device is the last line of defence: central validates too, but a push that reaches the box is
checked again against `EdgeConfig`. A push that is invalid, meant for another device, would cut the
box off from central, or fails to reload leaves the running config and the file untouched.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from common.config import ConfigError, EdgeConfig, parse_edge_config
from common.files import write_atomically
from common.messages import (
    MAX_CONFIG_VERSION,
    ConfigAck,
    ConfigOutcome,
    ConfigPush,
    MessageError,
    decode_message,
    utc_now,
)

log = logging.getLogger(__name__)

ReloadCallback = Callable[[EdgeConfig], None]


def _guess_version(payload: bytes) -> int | None:
    """The version of a push too broken to parse, if it has one, so the ack can still name it."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= MAX_CONFIG_VERSION:
            return version
    return None


class ConfigApplier:
    """Turns ConfigPush payloads into config changes and ConfigAck answers; thread-safe."""

    def __init__(self, config_path: Path, current: EdgeConfig, reload: ReloadCallback) -> None:
        self._path = Path(config_path)
        self._current = current
        self._reload = reload
        self._lock = threading.Lock()
        # Outcome counts; "malformed" counts payloads without even a usable version (no ack sent).
        self._counts: Counter[str] = Counter()

    @property
    def current(self) -> EdgeConfig:
        return self._current

    @property
    def running_version(self) -> int:
        return self._current.version

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts[name] for name in ("applied", "rejected", "stale", "malformed")}

    def handle(self, payload: bytes) -> ConfigAck | None:
        """Handle one payload from the config topic; None when it is too broken to answer."""
        with self._lock:
            try:
                ack = self._handle(payload)
            except Exception:  # a bug here must not kill the network thread; count and report it
                log.exception("config push handling failed")
                ack = self._internal_error_ack(payload)
            self._counts["malformed" if ack is None else ack.outcome] += 1
            return ack

    def _internal_error_ack(self, payload: bytes) -> ConfigAck | None:
        version = _guess_version(payload)
        try:
            return None if version is None else self._ack(version, "rejected", "internal error on device")
        except Exception:  # the running config itself cannot be described in an ack
            log.exception("cannot even answer config push version %s", version)
            return None

    def _handle(self, payload: bytes) -> ConfigAck | None:
        try:
            push = decode_message(ConfigPush, payload)
        except MessageError as exc:
            version = _guess_version(payload)
            if version is None:
                log.warning("ignoring a config push without a usable version: %s", exc)
                return None
            return self._ack(version, "rejected", str(exc))
        if push.version <= self._current.version:
            return self._ack(
                push.version,
                "stale",
                f"version {push.version} is not newer than the running version {self._current.version}",
            )
        data: dict[str, Any] = {**push.config, "version": push.version}
        try:
            new_config = parse_edge_config(data, f"config push v{push.version}")
        except ConfigError as exc:
            return self._ack(push.version, "rejected", str(exc))
        problem = self._refusal(new_config)
        if problem is not None:
            return self._ack(push.version, "rejected", problem)
        return self._swap(push.version, data, new_config)

    def _refusal(self, new: EdgeConfig) -> str | None:
        own = (self._current.site_id, self._current.device_id)
        if (new.site_id, new.device_id) != own:
            return f"config is for {new.site_id}/{new.device_id}, this device is {own[0]}/{own[1]}"
        if self._current.mqtt.enabled and not new.mqtt.enabled:
            return "mqtt.enabled: false would cut this device off from central"
        return None

    def _swap(self, version: int, data: dict[str, Any], new_config: EdgeConfig) -> ConfigAck:
        old_bytes = self._path.read_bytes() if self._path.exists() else None
        header = f"# pushed by central as version {version}; local edits are replaced by the next push\n"
        text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        try:
            write_atomically(self._path, text.encode("utf-8"))
        except OSError as exc:
            return self._ack(version, "rejected", f"cannot write {self._path}: {exc.strerror or exc}")
        try:
            self._reload(new_config)
        except Exception as exc:
            if old_bytes is None:
                self._path.unlink(missing_ok=True)
            else:
                write_atomically(self._path, old_bytes)
            log.exception("reload of config version %d failed; the old config stays", version)
            return self._ack(version, "rejected", f"reload failed: {type(exc).__name__}: {exc}")
        self._current = new_config
        return self._ack(version, "applied", None)

    def _ack(self, version: int, outcome: ConfigOutcome, reason: str | None) -> ConfigAck:
        return ConfigAck(
            site_id=self._current.site_id,
            device_id=self._current.device_id,
            version=version,
            accepted=outcome == "applied",
            outcome=outcome,
            reason=None if reason is None else reason[:4096],
            running_version=self._current.version,
            applied_at=utc_now(),
        )
