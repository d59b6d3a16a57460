"""The gate rule: which way a gate goes for the lists a plate matched. Deny wins over allow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from common.gates import DecisionMatch, GateAction, GateConfig, GateRule
from common.watchlists import WatchlistMatch


@dataclass(frozen=True)
class Verdict:
    action: GateAction
    rule: GateRule
    alert: bool
    matches: tuple[DecisionMatch, ...]


def decide(gate: GateConfig, matches: Sequence[WatchlistMatch]) -> Verdict:
    """Deny-listed: closed and alert (a deny hit outranks any allow entry, a stolen car stays out).
    Allow-listed: open. On no allow or deny list: the gate's unknown policy. An alert-list hit
    alerts whatever the gate does."""
    kinds = {m.kind for m in matches}
    recorded = tuple(
        DecisionMatch(list_id=m.list_id, list_name=m.list_name, kind=m.kind, plate=m.plate, mode=m.mode)
        for m in matches
    )
    alert = "alert" in kinds or "deny" in kinds
    if "deny" in kinds:
        return Verdict("closed", "deny-list", alert, recorded)
    if "allow" in kinds:
        return Verdict("open", "allow-list", alert, recorded)
    if gate.unknown_policy == "open":
        return Verdict("open", "unknown-open", alert, recorded)
    return Verdict("closed", "unknown-closed", alert, recorded)
