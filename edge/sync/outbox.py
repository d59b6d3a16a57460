"""What the publisher needs from the event store: a persistent outbox it can page and mark."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import Protocol


class OutboxItem(Protocol):
    @property
    def event_id(self) -> Hashable: ...

    @property
    def payload(self) -> bytes: ...


class Outbox(Protocol):
    """Events stored but not yet confirmed by central (edge.store.EventStore fits this).

    The publisher calls it from its own thread, so an implementation must be thread-safe.
    pending() returns up to `limit` events in capture order, leaving out the ids in `exclude`.
    """

    def pending(
        self, limit: int, newest_first: bool = False, exclude: Collection[Hashable] = ()
    ) -> Sequence[OutboxItem]: ...

    def mark_synced(self, event_ids: Iterable[Hashable]) -> int: ...

    def pending_count(self) -> int: ...
