"""Building the MQTT side of an agent: the publisher with its config and watchlist appliers, the
decision outbox and, when enabled, Home Assistant discovery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from common.config import EdgeConfig
from common.gates import GateDecision
from edge.gates import GateController
from edge.sync.config_applier import ConfigApplier, ReloadCallback
from edge.sync.home_assistant import HomeAssistantBridge
from edge.sync.outbox import Outbox
from edge.sync.publisher import SyncPublisher
from edge.sync.stats import AgentStats
from edge.sync.watchlist_applier import WatchlistApplier


def start_sync(
    config: EdgeConfig,
    *,
    config_path: Path | None,
    outbox: Outbox,
    decision_outbox: Outbox | None,
    agent_version: str,
    models: Mapping[str, str],
    reload: ReloadCallback,
    running: Callable[[], EdgeConfig] | None = None,
    stats_source: Callable[[], AgentStats],
    gates: GateController | None,
    watchlist_path: Path | None,
    add_decision_listener: Callable[[Callable[[GateDecision], None]], None],
) -> SyncPublisher:
    """A started SyncPublisher wired to everything the agent has."""
    applier = ConfigApplier(config_path, config, reload, running=running) if config_path else None
    watchlists = None
    if gates is not None and watchlist_path is not None:
        watchlists = WatchlistApplier(
            config.site_id, config.device_id, watchlist_path, gates.watchlists, gates.use_watchlists
        )
    home_assistant = None
    if config.home_assistant.enabled:
        home_assistant = HomeAssistantBridge(
            config, agent_version, open_gate=gates.open_manually if gates is not None else None
        )
    publisher = SyncPublisher(
        config, outbox, agent_version=agent_version, models=models, config_applier=applier,
        stats_source=stats_source, decision_outbox=decision_outbox, watchlist_applier=watchlists,
        home_assistant=home_assistant,
    )
    if home_assistant is not None:
        bridge = home_assistant
        add_decision_listener(lambda decision: bridge.on_decision(decision, publisher.side.publish))
    publisher.start()
    return publisher
