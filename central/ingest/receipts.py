"""Which stored events to confirm to which device, and the check that a re-sent event is the same.

A device keeps an event until central's receipt names it (docs/mqtt.md). Every event of a
committed batch is named: newly stored, stored before with the same content (a re-send), or
`conflicts`, when its id is already stored with different content. A conflict is dead-lettered
(kind "conflict", counted by anpr_central_dead_letters_total) and confirmed too: re-sending it
cannot change the stored row, so the device must stop. Gate decisions are confirmed the same
way, in the receipt's `decisions`: newly stored or already stored (decisions are stored once by
decision id, a re-send is dropped).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.messages import MAX_RECEIPT_EVENTS, EventReceipt

# What makes two messages with one event id the same event. received_at and the derived search
# keys are central's own; images may have been dropped by the device's quota between sends.
CONTENT_FIELDS = (
    "site_id", "device_id", "channel_id", "captured_at", "first_seen", "last_seen", "plate_text",
    "plate_latin", "confidence", "box_x1", "box_y1", "box_x2", "box_y2", "frames",
)


def _comparable(value: Any) -> Any:
    # SQLite gives back naive UTC datetimes, PostgreSQL aware ones.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def same_content(row: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return all(_comparable(row[name]) == _comparable(other[name]) for name in CONTENT_FIELDS)


def differing_fields(row: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    return [name for name in CONTENT_FIELDS if _comparable(row[name]) != _comparable(other[name])]


@dataclass
class Receipts:
    """Event and decision ids to confirm, per (site, device)."""

    stored: dict[tuple[str, str], list[uuid.UUID]] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[uuid.UUID]] = field(default_factory=dict)
    decisions: dict[tuple[str, str], list[uuid.UUID]] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any], conflict: bool = False) -> None:
        target = self.conflicts if conflict else self.stored
        target.setdefault((row["site_id"], row["device_id"]), []).append(row["event_id"])

    def add_decision(self, row: Mapping[str, Any]) -> None:
        self.decisions.setdefault((row["site_id"], row["device_id"]), []).append(row["decision_id"])

    def merge(self, other: Receipts) -> None:
        for mine, theirs in (
            (self.stored, other.stored), (self.conflicts, other.conflicts), (self.decisions, other.decisions)
        ):
            for key, ids in theirs.items():
                mine.setdefault(key, []).extend(ids)

    def __len__(self) -> int:
        kinds = (self.stored, self.conflicts, self.decisions)
        return sum(len(ids) for kind in kinds for ids in kind.values())

    def messages(self, at: datetime) -> Iterator[EventReceipt]:
        """One receipt per device (more if it names over MAX_RECEIPT_EVENTS events and decisions)."""
        for site_id, device_id in sorted(self.stored.keys() | self.conflicts.keys() | self.decisions.keys()):
            key = (site_id, device_id)
            stored = list(dict.fromkeys(self.stored.get(key, [])))
            conflicts = list(dict.fromkeys(self.conflicts.get(key, [])))
            decisions = list(dict.fromkeys(self.decisions.get(key, [])))
            while stored or conflicts or decisions:
                take_stored = stored[:MAX_RECEIPT_EVENTS]
                take_conflicts = conflicts[: MAX_RECEIPT_EVENTS - len(take_stored)]
                take_decisions = decisions[: MAX_RECEIPT_EVENTS - len(take_stored) - len(take_conflicts)]
                stored, conflicts = stored[len(take_stored) :], conflicts[len(take_conflicts) :]
                decisions = decisions[len(take_decisions) :]
                yield EventReceipt(
                    site_id=site_id, device_id=device_id, at=at, stored=take_stored,
                    conflicts=take_conflicts, decisions=take_decisions,
                )
