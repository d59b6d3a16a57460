"""Reconnect backoff: exponential, jittered, capped, and reset by a successful connection."""

from __future__ import annotations

import pytest

from edge.sync import Backoff


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=1.0, max_s=8.0, factor=2.0, jitter=0.5)
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 1.0
    with pytest.raises(ValueError):
        Backoff(initial_s=5, max_s=1)
