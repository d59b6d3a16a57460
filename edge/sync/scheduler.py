"""Which pending events to send next: live events first-come, backlog drained beside them.

After an outage the outbox holds a backlog. Sending oldest-first alone would hold every live event
(a gate controller waiting for a plate) behind the whole backlog; newest-first alone would starve
the backlog while traffic keeps coming. So each refill alternates: newest pending, oldest pending,
next newest, next oldest ... skipping events already in flight. With no backlog both ends are the
same few live events and the merge reduces to them.
"""

from __future__ import annotations

from collections.abc import Hashable, Set

from edge.sync.outbox import Outbox, OutboxItem


class CatchUpScheduler:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def next_batch(self, slots: int, busy: Set[Hashable]) -> list[OutboxItem]:
        """Up to `slots` pending events not in `busy`, alternating newest and oldest."""
        if slots <= 0:
            return []
        # Busy events may fill either end of the queue, so look that much further.
        limit = slots + len(busy)
        newest_page = self._outbox.pending(limit, newest_first=True)
        newest = [item for item in newest_page if item.event_id not in busy]
        if len(newest_page) < limit:
            # The whole queue fits in one page: the backlog end has nothing more to add.
            return newest[:slots]
        oldest_page = self._outbox.pending(limit, newest_first=False)
        oldest = [item for item in oldest_page if item.event_id not in busy]
        batch: list[OutboxItem] = []
        chosen: set[Hashable] = set()
        for pair in zip(newest, oldest, strict=False):
            for item in pair:
                if item.event_id not in chosen:
                    chosen.add(item.event_id)
                    batch.append(item)
                    if len(batch) == slots:
                        return batch
        for item in newest + oldest:  # one list ran short; top up from the other
            if item.event_id not in chosen and len(batch) < slots:
                chosen.add(item.event_id)
                batch.append(item)
        return batch
