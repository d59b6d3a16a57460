"""The outboxes the publisher drains, each to its own topic: plate events, and gate decisions when
the box has gates.

Both follow one delivery rule (edge.sync.publisher): a row leaves its outbox only when central's
receipt names it. The publisher tracks each row by a key (topic kind, id), so an event and a
decision never share a place in the in-flight, held or confirmed sets. Decisions go first in each
refill: there are few, and alerts and gate logs at central wait on them.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from typing import Literal, cast

from common.messages import EventReceipt
from edge.sync.outbox import Outbox
from edge.sync.scheduler import CatchUpScheduler

StreamKind = Literal["decisions", "events"]
StreamKey = tuple[StreamKind, Hashable]


@dataclass(frozen=True)
class Outgoing:
    key: StreamKey
    payload: bytes

    @property
    def kind(self) -> StreamKind:
        return self.key[0]


class OutboxStreams:
    def __init__(self, events: Outbox, decisions: Outbox | None = None) -> None:
        self.events = events
        self._outboxes: dict[StreamKind, Outbox] = {}
        if decisions is not None:
            self._outboxes["decisions"] = decisions
        self._outboxes["events"] = events
        self._schedulers = {kind: CatchUpScheduler(outbox) for kind, outbox in self._outboxes.items()}

    @property
    def has_decisions(self) -> bool:
        return "decisions" in self._outboxes

    def named_by(self, receipt: EventReceipt) -> list[Hashable]:
        """The rows a receipt confirms (decisions only where this box sends them)."""
        named: list[Hashable] = [("events", event_id) for event_id in (*receipt.stored, *receipt.conflicts)]
        if self.has_decisions:
            named.extend(("decisions", decision_id) for decision_id in receipt.decisions)
        return named

    def next_batch(self, slots: int, busy: Collection[Hashable]) -> list[Outgoing]:
        """Up to `slots` rows not in `busy`, decisions first, each stream in its scheduler's order."""
        batch: list[Outgoing] = []
        keys = [cast(StreamKey, key) for key in busy]
        for kind, scheduler in self._schedulers.items():
            if len(batch) >= slots:
                break
            stream_busy = {item_id for stream, item_id in keys if stream == kind}
            for item in scheduler.next_batch(slots - len(batch), stream_busy):
                batch.append(Outgoing((kind, item.event_id), item.payload))
        return batch

    def mark_synced(self, keys: Iterable[Hashable]) -> dict[StreamKind, int]:
        """Mark confirmed rows synced, one commit per stream; returns the rows changed per stream."""
        by_kind: dict[StreamKind, list[Hashable]] = {}
        for kind, item_id in (cast(StreamKey, key) for key in keys):
            by_kind.setdefault(kind, []).append(item_id)
        return {kind: self._outboxes[kind].mark_synced(ids) for kind, ids in by_kind.items()}

    def requeue(self) -> None:
        """Rows stopped being busy (an overdue receipt): every stream reads its oldest end afresh."""
        for scheduler in self._schedulers.values():
            scheduler.requeue()
