"""Event search: plate matching (exact, prefix, fuzzy across scripts), filters and keyset pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from central_factories import event_message, make_event
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from central.search import EventQuery, PlateMatch, SearchError, search_events

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
PLATES = ["А123ВС77", "A123BC77", "А123ВС777", "О777ОО99", "K001KK197", "Х999ХХ50"]


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    events = [
        make_event(
            plate, site="north" if i % 2 else "south", channel=f"cam{i % 3}", at=T0 + timedelta(minutes=i)
        )
        for i, plate in enumerate(PLATES)
    ]
    IngestWriter(engine).write([decode(*event_message(e), T0) for e in events])
    return engine


def _plates(engine: Engine, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return [e.plate_text for e in search_events(session, EventQuery(**kwargs)).events]


def test_exact_match_is_script_blind(loaded: Engine) -> None:
    # Cyrillic and Latin spellings of one plate are one plate; dashes and spaces are ignored.
    assert _plates(loaded, plate="a123-bc 77") == ["A123BC77", "А123ВС77"]
    assert _plates(loaded, plate="А123ВС77") == ["A123BC77", "А123ВС77"]


def test_prefix_match(loaded: Engine) -> None:
    assert _plates(loaded, plate="А123", match=PlateMatch.prefix) == ["А123ВС777", "A123BC77", "А123ВС77"]
    assert _plates(loaded, plate="Z", match=PlateMatch.prefix) == []


def test_fuzzy_match_allows_one_edit_and_ocr_homoglyphs(loaded: Engine) -> None:
    # O/0 and 1/I are the same glyph to OCR: not even an edit.
    assert _plates(loaded, plate="0777O099", match=PlateMatch.fuzzy) == ["О777ОО99"]
    assert _plates(loaded, plate="KOO1KK197", match=PlateMatch.fuzzy) == ["K001KK197"]
    # One substitution, one deletion, one insertion.
    assert _plates(loaded, plate="X998XX50", match=PlateMatch.fuzzy) == ["Х999ХХ50"]
    assert _plates(loaded, plate="X99XX50", match=PlateMatch.fuzzy) == ["Х999ХХ50"]
    assert _plates(loaded, plate="X9999XX50", match=PlateMatch.fuzzy) == ["Х999ХХ50"]
    # A swap of two neighbouring characters (Damerau) is one edit.
    assert _plates(loaded, plate="X999XX05", match=PlateMatch.fuzzy) == ["Х999ХХ50"]
    # Two edits away is not a match.
    assert _plates(loaded, plate="X988XX50", match=PlateMatch.fuzzy) == []


def test_filters_combine(loaded: Engine) -> None:
    assert _plates(loaded, site_id="north") == ["Х999ХХ50", "О777ОО99", "A123BC77"]
    assert _plates(loaded, site_id="north", channel_id="cam1") == ["A123BC77"]
    assert _plates(loaded, since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4)) == [
        "О777ОО99",
        "А123ВС777",
    ]
    assert _plates(loaded, country="DE") == []


def test_keyset_pages_cover_everything_once(loaded: Engine) -> None:
    seen: list[str] = []
    cursor = None
    with Session(loaded) as session:
        while True:
            page = search_events(session, EventQuery(limit=4, cursor=cursor))
            seen.extend(e.plate_text for e in page.events)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == list(reversed(PLATES))


def test_bad_queries_are_refused_clearly(loaded: Engine) -> None:
    with Session(loaded) as session:
        for query, words in (
            (EventQuery(plate="А12$"), "characters"),
            (EventQuery(plate=" - "), "letters or digits"),
            (EventQuery(cursor="bm9wZQ"), "cursor"),
            (EventQuery(limit=0), "limit"),
            (EventQuery(since=T0, until=T0), "before"),
        ):
            with pytest.raises(SearchError, match=words):
                search_events(session, query)
