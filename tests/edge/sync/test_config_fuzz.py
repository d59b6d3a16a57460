"""10,000 fuzzed config-topic payloads straight into the applier: no crash, each one counted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from test_config_push_mqtt import fuzzed_payloads

from common.config import EdgeConfig, MqttConfig, load_edge_config
from edge.sync import ConfigApplier


def test_ten_thousand_fuzzed_payloads_never_crash_and_are_all_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)  # thousands of expected warnings would only slow the run
    payloads = fuzzed_payloads(10_000, seed=7)
    running = EdgeConfig(site_id="site-1", device_id="gate.north", cameras=[], mqtt=MqttConfig(enabled=True))
    reloaded: list[EdgeConfig] = []
    applier = ConfigApplier(tmp_path / "edge.yaml", running, reloaded.append)
    outcomes: list[str] = []
    for payload in payloads:
        ack = applier.handle(payload)
        outcomes.append("malformed" if ack is None else ack.outcome)
        if ack is not None:
            assert ack.running_version == applier.running_version
    counts = applier.counts()
    assert sum(counts.values()) == 10_000
    assert counts == {name: outcomes.count(name) for name in counts}
    assert min(counts.values()) > 50  # the mix reaches every outcome, not only the parser
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no internal error path taken
    assert len(reloaded) == counts["applied"]
    assert load_edge_config(tmp_path / "edge.yaml") == reloaded[-1]
