"""Watchlist entries, validity windows in the site's zone, and matching readings against lists."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from common.watchlists import (
    Validity,
    Watchlist,
    WatchlistBundle,
    WatchlistEntry,
    WatchlistIndex,
    plate_key,
)


def bundle(*lists: Watchlist, timezone: str = "UTC") -> WatchlistBundle:
    return WatchlistBundle(version=3, site_id="s1", timezone=timezone, lists=lists)


def test_plate_is_stored_in_its_glyph_form_whatever_the_spelling() -> None:
    assert WatchlistEntry(plate="а 123 вс 77").plate == "A123BC77"
    assert WatchlistEntry(plate="A-123-BC-77").plate == "A123BC77"
    assert plate_key("ΑΒΓ 123") == "ΑΒΓ123"  # a script the reader does not know is kept, not refused
    with pytest.raises(ValidationError, match="no characters"):
        WatchlistEntry(plate=" - ")
    with pytest.raises(ValidationError, match="more than 16"):
        WatchlistEntry(plate="A" * 17)


def test_exact_and_fuzzy_matching() -> None:
    lists = (
        Watchlist(list_id="staff", name="Staff", kind="allow", entries=(WatchlistEntry(plate="А123ВС77"),)),
        Watchlist(
            list_id="stolen",
            name="Stolen",
            kind="deny",
            entries=(WatchlistEntry(plate="O777OO99", match="fuzzy", note="reported 2026-11-01"),),
        ),
    )
    index = WatchlistIndex(bundle(*lists))
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert [m.list_id for m in index.match("A123BC77", now)] == ["staff"]
    assert index.match("A123BC78", now) == []  # exact entries do not match one edit off
    assert [m.list_id for m in index.match("0777OO99", now)] == ["stolen"]  # look-alike glyph
    assert [m.list_id for m in index.match("O777OO9", now)] == ["stolen"]  # one glyph missing
    assert [m.list_id for m in index.match("O777XO99", now)] == ["stolen"]  # one substituted
    assert index.match("X777XX99", now) == []
    match = index.match("O777OO99", now)[0]
    expected = ("deny", "fuzzy", "O777OO99", "reported 2026-11-01")
    assert (match.kind, match.mode, match.plate, match.note) == expected


def test_lists_apply_to_their_gates_only() -> None:
    entry = WatchlistEntry(plate="A123BC77")
    index = WatchlistIndex(
        bundle(
            Watchlist(list_id="north", name="North", kind="allow", entries=(entry,), gates=("north",)),
            Watchlist(list_id="all", name="All", kind="alert", entries=(entry,)),
        )
    )
    now = datetime(2026, 12, 5, tzinfo=UTC)
    assert {m.list_id for m in index.match("A123BC77", now, "north")} == {"north", "all"}
    assert {m.list_id for m in index.match("A123BC77", now, "south")} == {"all"}


def test_validity_is_local_time_of_the_site() -> None:
    workdays = Validity(weekdays=(1, 2, 3, 4, 5), hours="08:00-18:00")
    entry = WatchlistEntry(plate="A123BC77", validity=workdays)
    index = WatchlistIndex(
        bundle(Watchlist(list_id="w", name="W", kind="allow", entries=(entry,)), timezone="Europe/Moscow")
    )
    # Friday 2026-12-04 06:00 UTC is 09:00 in Moscow: inside; 16:00 UTC is 19:00: outside.
    assert index.match("A123BC77", datetime(2026, 12, 4, 6, tzinfo=UTC))
    assert not index.match("A123BC77", datetime(2026, 12, 4, 16, tzinfo=UTC))
    # Saturday morning local time.
    assert not index.match("A123BC77", datetime(2026, 12, 5, 6, tzinfo=UTC))


def test_overnight_window_belongs_to_the_day_it_began() -> None:
    night = Validity(weekdays=(5,), hours="22:00-06:00")  # Friday night shift
    assert night.applies(datetime(2026, 12, 4, 23, 0))  # Friday 23:00
    assert night.applies(datetime(2026, 12, 5, 5, 59))  # Saturday 05:59, still Friday's night
    assert not night.applies(datetime(2026, 12, 5, 6, 0))
    assert not night.applies(datetime(2026, 12, 4, 5, 0))  # Friday early morning is Thursday's night


def test_date_range_is_inclusive() -> None:
    window = Validity(valid_from=date(2026, 12, 1), valid_until=date(2026, 12, 3))
    assert window.applies(datetime(2026, 12, 3, 23, 59))
    assert not window.applies(datetime(2026, 12, 4, 0, 0))
    assert not window.applies(datetime(2026, 11, 30, 23, 59))
    assert Validity().always


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hours", "8-18", "must look like"),
        ("hours", "10:00-10:00", "same time"),
        ("weekdays", (0,), "1 \\(Monday\\)"),
    ],
)
def test_bad_validity_is_refused_with_a_reason(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Validity.model_validate({field: value})
    with pytest.raises(ValidationError, match="before valid_from"):
        Validity(valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 1))


def test_bundle_refuses_unknown_zone_and_duplicate_ids() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        WatchlistBundle(version=1, site_id="s1", timezone="Mars/Olympus")
    same = Watchlist(list_id="a", name="A", kind="allow")
    with pytest.raises(ValidationError, match="twice"):
        bundle(same, same)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        WatchlistIndex(bundle()).match("A123BC77", datetime(2026, 1, 1))


def test_a_manual_open_has_no_plate_and_only_it() -> None:
    from common.gates import GateDecision
    from common.plates.reading import PlateReading

    at = datetime(2026, 12, 4, tzinfo=UTC)
    base = {
        "site_id": "s1",
        "device_id": "d1",
        "gate_id": "g",
        "channel_id": "c",
        "track_id": 0,
        "action": "open",
        "alert": False,
        "watchlist_version": 0,
        "captured_at": at,
        "decided_at": at,
    }
    assert GateDecision(**base, plate=None, rule="manual", requested_by="home-assistant").plate is None
    reading = PlateReading(text="A1", latin="A1", confidence=0.9)
    with pytest.raises(ValidationError, match="unless it is a manual open"):
        GateDecision(**base, plate=None, rule="allow-list")
    with pytest.raises(ValidationError, match="unless it is a manual open"):
        GateDecision(**base, plate=reading, rule="manual")
