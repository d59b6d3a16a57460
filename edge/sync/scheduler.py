"""Which pending events to send next: live events first-come, backlog drained beside them.

After an outage the outbox holds a backlog. Sending oldest-first alone would hold every live event
(a gate controller waiting for a plate) behind the whole backlog; newest-first alone would starve
the backlog while traffic keeps coming. So each batch alternates: newest pending, oldest pending,
next newest, next oldest ... skipping events that are busy (in flight, acknowledged but not yet
marked, waiting for central's receipt, or held after a refusal). With no backlog both ends are the
same few live events. An event whose receipt is overdue is no longer busy: being old, it comes
back at the oldest end, so re-sends go oldest first beside the live events.

Reading the outbox decrypts every row it returns, so the oldest end is read a page at a time and
served from memory; only the newest end, where live events appear, is read on every batch. Busy
events are skipped by the outbox itself without being decrypted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Set

from edge.sync.outbox import Outbox, OutboxItem

BACKLOG_PAGE = 200


class CatchUpScheduler:
    def __init__(self, outbox: Outbox, backlog_page: int = BACKLOG_PAGE) -> None:
        self._outbox = outbox
        self._backlog_page = backlog_page
        self._backlog: deque[OutboxItem] = deque()
        # Handed out since the backlog page was read: such an event may be marked synced by now,
        # so the cached page must not offer it again.
        self._handed_out: set[Hashable] = set()

    def next_batch(self, slots: int, busy: Set[Hashable]) -> list[OutboxItem]:
        """Up to `slots` pending events not in `busy`, alternating newest and oldest."""
        if slots <= 0:
            return []
        newest = list(self._outbox.pending(slots, newest_first=True, exclude=busy))
        if len(newest) < slots:
            # The whole queue fits in one page: there is no separate backlog end.
            self._backlog.clear()
            self._handed_out.clear()
            return self._hand_out(newest[:slots])
        batch: list[OutboxItem] = []
        chosen: set[Hashable] = set()
        newest_iter = iter(newest)
        while len(batch) < slots:
            live = next((item for item in newest_iter if item.event_id not in chosen), None)
            if live is not None:
                chosen.add(live.event_id)
                batch.append(live)
            if len(batch) < slots:
                old = self._next_backlog(busy, chosen)
                if old is not None:
                    chosen.add(old.event_id)
                    batch.append(old)
                elif live is None:
                    break
        return self._hand_out(batch)

    def _next_backlog(self, busy: Set[Hashable], chosen: set[Hashable]) -> OutboxItem | None:
        for attempt in range(2):
            while self._backlog:
                item = self._backlog.popleft()
                if (
                    item.event_id not in busy
                    and item.event_id not in chosen
                    and item.event_id not in self._handed_out
                ):
                    return item
            if attempt == 0:  # page exhausted: read the next one from the outbox
                self._handed_out.clear()
                self._backlog.extend(
                    self._outbox.pending(self._backlog_page, newest_first=False, exclude=busy | chosen)
                )
        return None

    def requeue(self) -> None:
        """Events stopped being busy (an overdue receipt): read the oldest end afresh next time."""
        self._backlog.clear()
        self._handed_out.clear()

    def _hand_out(self, batch: list[OutboxItem]) -> list[OutboxItem]:
        self._handed_out.update(item.event_id for item in batch)
        return batch
