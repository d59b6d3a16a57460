"""Applying a config pushed by central: patch, validate, write atomically, reload, answer with an ack.

A push is a JSON merge patch against the config this device reported (EffectiveConfig, with its
hash); `common.config_push.apply_patch` applies it with the same model and rules central checked
it with. The device is the last line of defence: the running config and the file stay untouched
when a push was made against another config than the one running (base hash differs), is
invalid, is meant for another device, would cut the box off from its server, would move or
re-key the store, or fails to reload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from common.config import EdgeConfig
from common.config_push import PushRefused, apply_patch, config_hash, redacted
from common.files import write_atomically
from common.messages import (
    ConfigAck,
    ConfigOutcome,
    ConfigPush,
    EffectiveConfig,
    MessageError,
    decode_message,
    utc_now,
)
from edge.sync.push_handling import PushHandling, guess_version

log = logging.getLogger(__name__)

ReloadCallback = Callable[[EdgeConfig], None]


def effective_message(config: EdgeConfig) -> EffectiveConfig:
    """What the device reports about the config it runs (retained on config/effective)."""
    data = redacted(config)
    return EffectiveConfig(
        site_id=config.site_id,
        device_id=config.device_id,
        at=utc_now(),
        version=config.version,
        hash=config_hash(data),
        config=data,
    )


class ConfigApplier:
    """Turns ConfigPush payloads into config changes and ConfigAck answers; thread-safe."""

    def __init__(
        self,
        config_path: Path,
        current: EdgeConfig,
        reload: ReloadCallback,
        running: Callable[[], EdgeConfig] | None = None,
    ) -> None:
        """`running`, when given, is where the running config lives (the agent's, which a local
        SIGHUP reload also changes); pushes are checked against it, not a copy taken at start."""
        self._path = Path(config_path)
        self._current = current
        self._running = running
        self._reload = reload
        self._handling = PushHandling("config")

    @property
    def current(self) -> EdgeConfig:
        if self._running is not None:
            self._current = self._running()
        return self._current

    @property
    def running_version(self) -> int:
        return self.current.version

    def counts(self) -> dict[str, int]:
        return self._handling.counts()

    def handle(self, payload: bytes) -> ConfigAck | None:
        """Handle one payload from the config topic; None when it is too broken to answer."""
        return self._handling.handle(
            payload, self._handle, lambda version, reason: self._ack(version, "rejected", reason)
        )

    def _handle(self, payload: bytes) -> ConfigAck | None:
        if self._running is not None:
            self._current = self._running()
        try:
            push = decode_message(ConfigPush, payload)
        except MessageError as exc:
            version = guess_version(payload)
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
        running_hash = config_hash(redacted(self._current))
        if push.base_hash != running_hash:
            return self._ack(
                push.version,
                "rejected",
                f"the push was made against config {push.base_hash[:12]}, this device runs "
                f"{running_hash[:12]} (version {self._current.version}): push again against its report",
            )
        try:
            new_config = apply_patch(self._current, push.patch, push.version)
        except PushRefused as exc:
            return self._ack(push.version, "rejected", str(exc))
        return self._swap(push.version, new_config.model_dump(mode="json"), new_config)

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
