"""Gate control: watchlist decisions on the first confident reading of a track, sent to outputs.

Sits after `tracking` (it consumes tracks' readings) and before `events`/`store` (which may store
its decisions). See docs/integrations.md.
"""

from edge.gates.controller import DecisionRecorder, GateController
from edge.gates.rules import Verdict, decide
from edge.gates.runner import GateRunner, PendingDecision
from edge.gates.watchlist_cache import load_cached_watchlists, save_watchlists, watchlist_cache_path

__all__ = [
    "DecisionRecorder",
    "GateController",
    "GateRunner",
    "PendingDecision",
    "Verdict",
    "decide",
    "load_cached_watchlists",
    "save_watchlists",
    "watchlist_cache_path",
]
