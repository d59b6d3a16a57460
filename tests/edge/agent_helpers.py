"""Building agents for tests: colour-plate models, a real encrypted store in a temporary folder."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edge_scene import ColourPlateDetector, ColourPlateReader

from common.config import EdgeConfig
from common.events import ModelVersions
from edge.agent import EdgeAgent
from edge.capture import Backoff
from edge.events.sinks import EventSink
from edge.inference.models import ModelSet
from edge.store import EventStore

FAST_BACKOFF = Backoff(initial_s=0.05, factor=2.0, max_s=0.2)
TEST_VERSIONS = ModelVersions(detector="colour-detector-test", reader="colour-reader-test")


def colour_models(reader: ColourPlateReader | None = None) -> ModelSet:
    return ModelSet(ColourPlateDetector(), reader or ColourPlateReader(), TEST_VERSIONS)


def open_test_store(path: Path, key: bytes | None = None, **options: Any) -> EventStore:
    return EventStore(path, key or os.urandom(32), synchronous="NORMAL", **options)


def make_config(tmp_path: Path, cameras: Sequence[dict[str, Any]], **sections: Any) -> EdgeConfig:
    data: dict[str, Any] = {
        "cameras": list(cameras),
        "store": {"path": str(tmp_path / "events.db"), "key_file": str(tmp_path / "store.key")},
        "http": {"enabled": False},
        "tracking": {"min_reads": 2},
        **sections,
    }
    return EdgeConfig.model_validate(data)


def make_agent(
    config: EdgeConfig,
    store: EventStore,
    models: ModelSet | None = None,
    sinks: Sequence[EventSink] = (),
    **kwargs: Any,
) -> EdgeAgent:
    return EdgeAgent(
        config, models=models or colour_models(), store=store, sinks=sinks, backoff=FAST_BACKOFF, **kwargs
    )


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
