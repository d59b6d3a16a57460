"""Watchlists: named lists of plates (allow, deny, alert), and matching a reading against them.

Central manages the lists and pushes each box the bundle its gates need (``WatchlistBundle``,
versioned like a config); the box caches it and matches readings offline. Both sides use this
module, so a plate is keyed one way everywhere:

- an entry's plate is stored in its glyph form (``common.plates.search.stored_plate_key``: upper
  case, no separators, Cyrillic look-alikes as Latin glyphs; characters of other scripts kept), so
  "а 123 вс 77", "A123BC77" and "А123ВС77" are one entry;
- match mode ``exact`` compares glyph forms; ``fuzzy`` compares look-alike folded keys within one
  edit (``fuzzy_key`` / ``one_edit_fuzzy_keys``), so a reading with 0 for O or one glyph missing
  still matches;
- an entry may be valid only between dates, on some weekdays and within hours, all in the site's
  time zone (the bundle names it), because "Mon-Fri 08:00-18:00" means local time.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from common.plates.search import fuzzy_key, one_edit_fuzzy_keys, stored_plate_key

ListKind = Literal["allow", "deny", "alert"]
LIST_KINDS: tuple[ListKind, ...] = ("allow", "deny", "alert")
MatchMode = Literal["exact", "fuzzy"]
MATCH_MODES: tuple[MatchMode, ...] = ("exact", "fuzzy")
WATCHLIST_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Names and notes end up in logs, audit entries and alert messages: no C0 control character, no DEL.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"
MAX_PLATE_KEY = 16  # a plate's text is at most 16 glyphs (common.events.MAX_PLATE_CHARS)
MAX_ENTRIES_PER_LIST = 100_000
WatchlistId = Annotated[str, Field(pattern=WATCHLIST_ID_PATTERN)]
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def plate_key(text: str) -> str:
    """The stored form of a list entry's plate; ValueError for text that keys to nothing or too long."""
    key = stored_plate_key(text.strip())
    if not key:
        raise ValueError(f"plate {text!r} has no characters a plate carries")
    if len(key) > MAX_PLATE_KEY:
        raise ValueError(f"plate {text!r} has {len(key)} characters, more than {MAX_PLATE_KEY}")
    return key


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Moscow") from exc
    return name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Validity(_Model):
    """When an entry applies, in the site's time zone; every part is optional (absent: always)."""

    valid_from: date | None = Field(default=None, description="first day the entry applies")
    valid_until: date | None = Field(default=None, description="last day the entry applies (inclusive)")
    weekdays: tuple[int, ...] = Field(
        default=(), description="ISO weekdays it applies on, 1 = Monday .. 7 = Sunday; empty: every day"
    )
    hours: str | None = Field(
        default=None, description="local window HH:MM-HH:MM; one ending before it starts spans midnight"
    )

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= day <= 7 for day in value):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        return tuple(sorted(set(value)))

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.replace(" ", "")
        if not _HOURS.match(value):
            raise ValueError(f"hours {value!r} must look like 08:00-18:00")
        start, end = value.split("-")
        if start == end:
            raise ValueError("hours must not start and end at the same time")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Validity:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self

    @property
    def always(self) -> bool:
        return not (self.valid_from or self.valid_until or self.weekdays or self.hours)

    def applies(self, local: datetime) -> bool:
        """Whether the entry applies at `local` (a time in the site's zone)."""
        day = local.date()
        if self.valid_from and day < self.valid_from:
            return False
        if self.valid_until and day > self.valid_until:
            return False
        if self.hours is None:
            return not self.weekdays or local.isoweekday() in self.weekdays
        start_text, end_text = self.hours.split("-")
        start, end = _clock(start_text), _clock(end_text)
        now = local.time()
        if start < end:
            inside, weekday = start <= now < end, local.isoweekday()
        elif now >= start:  # an overnight window: the evening part belongs to today
            inside, weekday = True, local.isoweekday()
        else:  # ... and the early morning part to the day the window began
            inside, weekday = now < end, (local.isoweekday() - 2) % 7 + 1
        return inside and (not self.weekdays or weekday in self.weekdays)


def _clock(text: str) -> time:
    hours, minutes = int(text[:2]), int(text[3:])
    return time.max if hours == 24 else time(hours, minutes)


class WatchlistEntry(_Model):
    plate: str = Field(
        min_length=1,
        max_length=32,
        pattern=NO_CONTROL_CHARACTERS,
        description="the plate in its glyph form (any spelling is accepted and normalized)",
    )
    match: MatchMode = "exact"
    validity: Validity = Field(default_factory=Validity)
    note: str = Field(default="", max_length=500, pattern=NO_CONTROL_CHARACTERS)

    @field_validator("plate", mode="before")
    @classmethod
    def _normalized(cls, value: object) -> object:
        return plate_key(value) if isinstance(value, str) else value


class Watchlist(_Model):
    """A named list with its entries; `gates` are the gate ids it applies to (empty: every gate)."""

    list_id: WatchlistId
    name: str = Field(min_length=1, max_length=128, pattern=NO_CONTROL_CHARACTERS)
    kind: ListKind
    entries: tuple[WatchlistEntry, ...] = Field(default=(), max_length=MAX_ENTRIES_PER_LIST)
    gates: tuple[WatchlistId, ...] = Field(default=(), description="gate ids at the site; empty: all gates")

    def applies_to_gate(self, gate_id: str) -> bool:
        return not self.gates or gate_id in self.gates


class WatchlistBundle(_Model):
    """Every list one box needs, as pushed to it and cached beside its config."""

    version: int = Field(ge=0, le=2**31 - 1, description="0: no lists were ever pushed")
    site_id: str = Field(pattern=WATCHLIST_ID_PATTERN)
    timezone: str = Field(default="UTC", description="the site's IANA time zone; validity is local time")
    lists: tuple[Watchlist, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("lists")
    @classmethod
    def _unique_ids(cls, lists: tuple[Watchlist, ...]) -> tuple[Watchlist, ...]:
        ids = [w.list_id for w in lists]
        if len(set(ids)) != len(ids):
            raise ValueError("a list id appears twice in the bundle")
        return lists


@dataclass(frozen=True)
class WatchlistMatch:
    """One entry a reading matched: which list, how (exact or fuzzy) and the entry's stored plate."""

    list_id: str
    list_name: str
    kind: ListKind
    plate: str
    mode: MatchMode
    note: str


@dataclass(frozen=True)
class _Indexed:
    watchlist: Watchlist
    entry: WatchlistEntry


class WatchlistIndex:
    """The lists of a bundle indexed by plate key: a lookup costs a dict probe per fuzzy candidate,
    not a scan of the entries, so it stays fast with large lists."""

    def __init__(self, bundle: WatchlistBundle) -> None:
        self.bundle = bundle
        self.zone = ZoneInfo(bundle.timezone)
        self._exact: dict[str, list[_Indexed]] = defaultdict(list)
        self._fuzzy: dict[str, list[_Indexed]] = defaultdict(list)
        for watchlist in bundle.lists:
            for entry in watchlist.entries:
                item = _Indexed(watchlist, entry)
                if entry.match == "exact":
                    self._exact[entry.plate].append(item)
                else:
                    self._fuzzy[fuzzy_key(entry.plate)].append(item)

    @property
    def version(self) -> int:
        return self.bundle.version

    def match(self, plate_text: str, at: datetime, gate_id: str | None = None) -> list[WatchlistMatch]:
        """Entries matching `plate_text` that apply at `at` (aware), to `gate_id` when one is given.

        Exact matches come first; each entry is reported once.
        """
        if at.tzinfo is None:
            raise ValueError("match time must carry a time zone")
        key = stored_plate_key(plate_text)
        if not key:
            return []
        local = at.astimezone(self.zone)
        found: list[_Indexed] = list(self._exact.get(key, ()))
        if self._fuzzy:
            for candidate in one_edit_fuzzy_keys(key):
                found.extend(self._fuzzy.get(candidate, ()))
        out: list[WatchlistMatch] = []
        seen: set[int] = set()
        for item in found:
            if id(item) in seen:
                continue
            seen.add(id(item))
            if gate_id is not None and not item.watchlist.applies_to_gate(gate_id):
                continue
            if not item.entry.validity.applies(local):
                continue
            out.append(
                WatchlistMatch(
                    item.watchlist.list_id,
                    item.watchlist.name,
                    item.watchlist.kind,
                    item.entry.plate,
                    item.entry.match,
                    item.entry.note,
                )
            )
        return out


def kinds_of(matches: Iterable[WatchlistMatch]) -> set[ListKind]:
    return {m.kind for m in matches}


def empty_bundle(site_id: str, timezone: str = "UTC") -> WatchlistBundle:
    return WatchlistBundle(version=0, site_id=site_id, timezone=timezone)


def entries_sorted(entries: Sequence[WatchlistEntry]) -> list[WatchlistEntry]:
    """Entries in a stable order (plate, then mode), for exports and diffs."""
    return sorted(entries, key=lambda e: (e.plate, e.match, e.note))
