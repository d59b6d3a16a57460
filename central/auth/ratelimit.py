"""Failed-login throttling that slows a guesser without locking the real user out.

A plain per-user lock (N failures -> nobody may log in as that user for minutes) hands every
attacker a way to lock any account from anywhere. Instead, failures count against three keys:

* user + address: after `free_failures`, each further try waits twice as long as the last
  (`backoff_base_s`, doubling, at most `backoff_max_s`). A guesser at one address gets a few
  guesses per hour; the real user at their own address is not slowed by anyone else.
* address: the same backoff after `address_free_failures` failures over any user names, so
  one address cannot spray many accounts.
* everyone (global guard): when the replica sees more than `global_max_failures` failures in
  `window_s` (a distributed guess), the free tries are suspended: an address that has failed at
  all in the window waits out the backoff, while an address with a clean record may still try.
  The real user typing the right password from a clean address gets in during an attack.

Failures older than `window_s` are forgotten. State is in memory (per replica), bounded to
`max_tracked` keys: the oldest are dropped first, so junk user names cannot exhaust memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleSettings:
    free_failures: int = 3
    address_free_failures: int = 20
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    global_max_failures: int = 100
    window_s: float = 900.0
    max_tracked: int = 100_000


class LoginThrottle:
    def __init__(self, settings: ThrottleSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._everyone: deque[float] = deque()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"pair:{username.lower()}\x1f{address}", f"addr:{address}"

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.settings.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def _wait(self, failures: deque[float], free: int, now: float) -> float:
        """Seconds until the next try for a key with these recent failures."""
        beyond = len(failures) - free
        if beyond < 0 or not failures:
            return 0.0
        delay = min(self.settings.backoff_base_s * 2.0**beyond, self.settings.backoff_max_s)
        return max(0.0, failures[-1] + delay - now)

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds until this user may be tried again from this address, or None if now."""
        now = self._clock()
        pair, addr = self._keys(username, address)
        s = self.settings
        with self._lock:
            while self._everyone and self._everyone[0] <= now - s.window_s:
                self._everyone.popleft()
            pair_failures = self._recent(pair, now)
            addr_failures = self._recent(addr, now)
            under_attack = len(self._everyone) > s.global_max_failures
            # Under attack, no free tries for an address that failed at all: backoff from its first.
            waits = [
                self._wait(pair_failures, 0 if under_attack else s.free_failures, now),
                self._wait(addr_failures, 0 if under_attack else s.address_free_failures, now),
            ]
        wait = max(waits)
        return wait if wait > 0 else None

    def record_failure(self, username: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            self._everyone.append(now)
            for key in self._keys(username, address):
                failures = self._failures.get(key)
                if failures is None:
                    failures = self._failures[key] = deque()
                self._failures.move_to_end(key)
                failures.append(now)
            while len(self._failures) > self.settings.max_tracked:
                self._failures.popitem(last=False)

    def record_success(self, username: str, address: str) -> None:
        """The user's own failures from this address are forgiven; the address's count over all
        user names is not (one known password must not buy more guesses at others)."""
        pair, _addr = self._keys(username, address)
        with self._lock:
            self._failures.pop(pair, None)

    def tracked(self) -> int:
        with self._lock:
            return len(self._failures)
