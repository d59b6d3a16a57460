"""The box's copy of its watchlist bundle: a JSON file beside the config, so gates keep deciding
with the link to central down and after a restart.

A missing cache is an empty bundle (version 0: every plate is unknown). A damaged one is an error
at start, not an empty list: a silently emptied deny list would open the gate to anyone when the
unknown policy is open.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError

from common.config import EdgeConfig
from common.files import write_atomically
from common.watchlists import WatchlistBundle, WatchlistIndex, empty_bundle

log = logging.getLogger(__name__)

CACHE_NAME = "watchlists.json"


class WatchlistCacheError(ValueError):
    """The cached bundle cannot be read; the message names the file and the fault."""


def watchlist_cache_path(config: EdgeConfig, config_path: Path | None) -> Path:
    """The configured cache file, else watchlists.json beside the config (or the store)."""
    if config.gate_control.watchlist_cache is not None:
        return config.gate_control.watchlist_cache
    base = config_path.parent if config_path is not None else config.store.path.parent
    return base / CACHE_NAME


def load_cached_watchlists(path: Path, site_id: str) -> WatchlistIndex:
    if not path.exists():
        log.info("no cached watchlists at %s: every plate is unknown until central pushes lists", path)
        return WatchlistIndex(empty_bundle(site_id))
    try:
        bundle = WatchlistBundle.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise WatchlistCacheError(f"{path}: cannot read cached watchlists: {exc.strerror or exc}") from exc
    except ValidationError as exc:
        raise WatchlistCacheError(f"{path}: cached watchlists are damaged: {exc.errors()[0]['msg']}") from exc
    if bundle.site_id != site_id:
        raise WatchlistCacheError(
            f"{path}: cached watchlists are for site {bundle.site_id!r}, not {site_id!r}"
        )
    return WatchlistIndex(bundle)


def save_watchlists(path: Path, bundle: WatchlistBundle) -> None:
    write_atomically(path, bundle.model_dump_json().encode("utf-8"))
