"""Watchlist pushes on the box: applied and cached, stale, rejected with a reason; the cache at start."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gate_helpers import NOON

from common.messages import WatchlistPush
from common.watchlists import WatchlistBundle, WatchlistIndex, empty_bundle
from edge.gates.watchlist_cache import WatchlistCacheError, load_cached_watchlists, save_watchlists
from edge.sync.watchlist_applier import WatchlistApplier


def push(version: int, site: str = "site-1", plates: tuple[str, ...] = ("A123BC77",)) -> bytes:
    bundle = {
        "version": version,
        "site_id": site,
        "timezone": "Europe/Moscow",
        "lists": [
            {"list_id": "staff", "name": "Staff", "kind": "allow", "entries": [{"plate": p} for p in plates]}
        ],
    }
    return WatchlistPush(
        version=version, bundle=bundle, issued_at=datetime.now(UTC), issued_by="oscar"
    ).to_json()


@pytest.fixture
def used() -> list[WatchlistIndex]:
    return []


@pytest.fixture
def applier(tmp_path: Path, used: list[WatchlistIndex]) -> WatchlistApplier:
    return WatchlistApplier(
        "site-1", "edge1", tmp_path / "watchlists.json", WatchlistIndex(empty_bundle("site-1")), used.append
    )


def test_push_is_cached_and_used(
    applier: WatchlistApplier, used: list[WatchlistIndex], tmp_path: Path
) -> None:
    ack = applier.handle(push(4, plates=("а123вс77", "B777OP99")))
    assert ack is not None and (ack.outcome, ack.running_version, ack.entries) == ("applied", 4, 2)
    assert used[-1].version == 4 and used[-1].match("A123BC77", NOON)
    cached = load_cached_watchlists(tmp_path / "watchlists.json", "site-1")  # what a restart reads
    assert cached.version == 4 and cached.bundle.timezone == "Europe/Moscow"


def test_the_retained_push_again_is_stale(applier: WatchlistApplier, used: list[WatchlistIndex]) -> None:
    applier.handle(push(4))
    ack = applier.handle(push(4))
    assert ack is not None and ack.outcome == "stale" and "not newer" in (ack.reason or "")
    assert len(used) == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (push(5, site="site-2"), "for site site-2"),
        (push(5, plates=("--",)), "no characters a plate carries"),
        (json.dumps({"version": 5, "bundle": {}}).encode(), "issued_at"),
    ],
)
def test_bad_pushes_are_rejected_and_the_running_lists_stay(
    applier: WatchlistApplier, used: list[WatchlistIndex], payload: bytes, reason: str, tmp_path: Path
) -> None:
    applier.handle(push(4))
    ack = applier.handle(payload)
    assert ack is not None and ack.outcome == "rejected" and reason in (ack.reason or "")
    assert ack.running_version == 4 and len(used) == 1
    assert load_cached_watchlists(tmp_path / "watchlists.json", "site-1").version == 4


def test_garbage_without_a_version_is_not_answered(applier: WatchlistApplier) -> None:
    assert applier.handle(b"\x00not json") is None
    assert applier.counts()["malformed"] == 1


def test_cache_at_start(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.json"
    assert load_cached_watchlists(path, "site-1").version == 0  # nothing pushed yet: all unknown
    save_watchlists(path, WatchlistBundle(version=2, site_id="site-1"))
    assert load_cached_watchlists(path, "site-1").version == 2
    with pytest.raises(WatchlistCacheError, match="for site 'site-1', not 'site-9'"):
        load_cached_watchlists(path, "site-9")
    path.write_text('{"version": 3, "site_id": "site-1", "lists": [{"oops": 1}]}')
    with pytest.raises(WatchlistCacheError, match="damaged"):
        load_cached_watchlists(path, "site-1")
