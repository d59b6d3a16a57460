"""Which sent events still wait for central's receipt, and when each is due to be sent again.

The broker's PUBACK only says the broker has the message; a broker that crashes before it saves
its queue (Mosquitto saves every `autosave_interval`) loses it. So an event leaves the outbox
only when central's receipt (common.messages.EventReceipt) names it, after central's database
commit. An event acknowledged by the broker but not confirmed within `timeout_s` is sent again;
each further try waits twice as long, up to `max_timeout_s`, so a central that is down for a day
costs a few re-sends per event, not a storm. Central stores by event id, so a re-send is harmless.

Single-threaded: the publisher's network thread owns it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Hashable, Iterable

from common.messages import EventReceipt, MessageError, decode_message

log = logging.getLogger(__name__)


def parse_receipt(payload: bytes, site_id: str, device_id: str) -> EventReceipt | None:
    """The receipt in `payload` if it is well formed and meant for this device; None (logged) if not."""
    try:
        receipt = decode_message(EventReceipt, payload)
    except MessageError as exc:
        log.warning("ignoring a malformed receipt: %s", exc)
        return None
    if (receipt.site_id, receipt.device_id) != (site_id, device_id):
        log.warning("ignoring a receipt for %s/%s", receipt.site_id, receipt.device_id)
        return None
    return receipt


class ReceiptTracker:
    def __init__(self, timeout_s: float, max_timeout_s: float) -> None:
        if not 0 < timeout_s <= max_timeout_s:
            raise ValueError("receipt timeouts need 0 < timeout_s <= max_timeout_s")
        self.timeout_s = timeout_s
        self.max_timeout_s = max_timeout_s
        self._deadline: dict[Hashable, float] = {}  # awaiting a receipt -> when to give up waiting
        self._tries: dict[Hashable, int] = {}  # sends so far without a receipt
        self._heap: list[tuple[float, int, Hashable]] = []  # (deadline, tiebreak, id), stale entries skipped
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._deadline)

    def __contains__(self, event_id: Hashable) -> bool:
        return event_id in self._deadline

    def waiting(self) -> set[Hashable]:
        return set(self._deadline)

    def delay_for(self, event_id: Hashable) -> float:
        """How long to wait for the receipt of the next send of this event."""
        tries = self._tries.get(event_id, 0)
        return min(self.max_timeout_s, self.timeout_s * 2 ** min(tries, 32))

    def sent(self, event_id: Hashable, now: float) -> None:
        """The broker acknowledged a send of this event: wait for its receipt from now."""
        deadline = now + self.delay_for(event_id)
        self._tries[event_id] = self._tries.get(event_id, 0) + 1
        self._deadline[event_id] = deadline
        heapq.heappush(self._heap, (deadline, next(self._order), event_id))

    def confirm(self, event_ids: Iterable[Hashable]) -> None:
        """A receipt named these events: stop waiting and forget their tries."""
        for event_id in event_ids:
            self._deadline.pop(event_id, None)
            self._tries.pop(event_id, None)

    def expired(self, now: float) -> list[Hashable]:
        """Events whose receipt is overdue, earliest deadline first; they no longer count as waiting."""
        due: list[Hashable] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, _, event_id = heapq.heappop(self._heap)
            if self._deadline.get(event_id) == deadline:
                del self._deadline[event_id]
                due.append(event_id)
        if not self._deadline and self._heap:
            self._heap.clear()  # only stale entries are left
        return due

    def next_deadline(self) -> float | None:
        while self._heap and self._deadline.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None


class Confirmations:
    """The publisher's side of receipts: what waits for one, what a receipt confirmed and when to
    write that down. Single-threaded, like the tracker.

    A receipt can overtake the PUBACK of a re-send (central had the first copy): such an event is
    remembered as confirmed early, so its PUBACK does not start a new wait.
    """

    def __init__(self, timeout_s: float, max_timeout_s: float, flush_s: float) -> None:
        self.tracker = ReceiptTracker(timeout_s, max_timeout_s)
        self._flush_s = flush_s
        self._early: set[Hashable] = set()
        self._confirmed: list[Hashable] = []  # named by a receipt, not yet marked synced
        self._flush_due = 0.0

    def __len__(self) -> int:
        """Events acknowledged by the broker and waiting for their receipt."""
        return len(self.tracker)

    def busy(self) -> set[Hashable]:
        """Events the outbox must not offer again: waiting for a receipt, or confirmed and unmarked."""
        return self.tracker.waiting() | set(self._confirmed)

    def take_early(self, event_id: Hashable) -> bool:
        """True (once) if a receipt named this event while its publish was in flight."""
        if event_id in self._early:
            self._early.discard(event_id)
            return True
        return False

    def acknowledged(self, event_id: Hashable, now: float) -> None:
        """The broker's PUBACK for an event: wait for its receipt from now."""
        if not self.take_early(event_id):
            self.tracker.sent(event_id, now)

    def receipt(self, named: list[Hashable], in_flight: set[Hashable], now: float) -> None:
        self.tracker.confirm(named)
        self._early.update(event_id for event_id in named if event_id in in_flight)
        if not self._confirmed:
            self._flush_due = now + self._flush_s
        self._confirmed.extend(named)

    def due(self, force: bool, batch: int, now: float) -> list[Hashable]:
        """Confirmed events to mark synced now: at once when forced, else in batches or when due."""
        if not self._confirmed or not (force or len(self._confirmed) >= batch or now >= self._flush_due):
            return []
        confirmed, self._confirmed = self._confirmed, []
        return confirmed
