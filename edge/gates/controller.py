"""Gate control on the box: the first confident, format-valid reading of a track decides.

The pipeline calls `consider()` for each new reading of a track on a gate's channel until it
returns True. The decision itself is a dict probe into the cached watchlists and a queue put, so
the channel worker is not held up; the gate's runner thread sends the command (edge.gates.runner).

De-bouncing, so one vehicle opens a gate once: a track decides at most once per gate, and the same
plate (glyph form) at the same gate within `debounce_s` does not decide again, which covers a track
split in two and a car seen by two cameras of one gate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np

from common.gates import GateConfig, GateDecision
from common.plates.reading import PlateReading
from common.plates.search import stored_plate_key
from common.watchlists import WatchlistIndex
from edge.gates.rules import decide
from edge.gates.runner import GateRunner, PendingDecision

log = logging.getLogger(__name__)

DecisionRecorder = Callable[[GateDecision], None]


class GateController:
    """Every gate of the box, the watchlists they use and their output threads; thread-safe."""

    def __init__(
        self,
        site_id: str,
        device_id: str,
        gates: Sequence[GateConfig],
        watchlists: WatchlistIndex,
        record: DecisionRecorder,
        runners: dict[str, GateRunner] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site_id = site_id
        self.device_id = device_id
        self._record = record
        self._clock = clock
        self._lock = threading.Lock()
        self._watchlists = watchlists
        self._gates: dict[str, GateConfig] = {}
        self._by_channel: dict[str, list[GateConfig]] = {}
        self.runners: dict[str, GateRunner] = runners if runners is not None else {}
        self._recent: dict[tuple[str, str], float] = {}  # (gate, plate key) -> monotonic time decided
        self._configure(gates)

    # --- configuration -----------------------------------------------------------------------------

    def _configure(self, gates: Sequence[GateConfig]) -> None:
        new = {gate.id: gate for gate in gates}
        for gate_id, runner in list(self.runners.items()):
            if new.get(gate_id) != runner.gate:
                runner.stop()
                del self.runners[gate_id]
        for gate_id, gate in new.items():
            if gate_id not in self.runners:
                self.runners[gate_id] = GateRunner(gate, self._record)
        by_channel: dict[str, list[GateConfig]] = {}
        for gate in new.values():
            for channel_id in gate.channels:
                by_channel.setdefault(channel_id, []).append(gate)
        self._gates, self._by_channel = new, by_channel

    def reconfigure(self, gates: Sequence[GateConfig]) -> None:
        """A config reload: gates whose settings changed get new outputs; the others keep theirs."""
        with self._lock:
            self._configure(gates)

    def use_watchlists(self, watchlists: WatchlistIndex) -> None:
        with self._lock:
            self._watchlists = watchlists
        log.info("gates: watchlists version %d in use", watchlists.version)

    @property
    def watchlists(self) -> WatchlistIndex:
        return self._watchlists

    def watches(self, channel_id: str) -> bool:
        return channel_id in self._by_channel

    # --- deciding ----------------------------------------------------------------------------------

    def consider(
        self,
        channel_id: str,
        track_id: int,
        reading: PlateReading,
        captured_at: datetime,
        received_monotonic: float,
        crop: np.ndarray | None = None,
        done: set[str] | None = None,
    ) -> bool:
        """Decide for every gate of `channel_id` that `reading` is good enough for; True once every
        gate of the channel has decided (or de-bounced), so the caller stops offering the track's
        later readings. `done` is the track's own record of the gates that decided on it (kept on
        the track, so a restarted channel's new track ids cannot be mistaken for old ones)."""
        done = set() if done is None else done
        gates = self._by_channel.get(channel_id)
        if not gates or not reading.valid or not reading.text:
            return False
        if all(reading.confidence < gate.min_confidence for gate in gates):
            return False
        key = stored_plate_key(reading.text)
        now = self._clock()
        with self._lock:
            watchlists = self._watchlists
            for gate in gates:
                if gate.id in done or reading.confidence < gate.min_confidence:
                    continue  # a stricter gate waits for a better reading of the same track
                last = self._recent.get((gate.id, key))
                if last is not None and now - last < gate.debounce_s:
                    done.add(gate.id)  # this vehicle was just decided on at this gate
                    continue
                self._recent[(gate.id, key)] = now
                try:
                    self._decide(
                        gate, watchlists, channel_id, track_id, reading, captured_at, received_monotonic, crop
                    )
                except Exception:  # the track's next reading tries again
                    del self._recent[(gate.id, key)]
                    log.exception("gate %s: deciding failed", gate.id)
                    continue
                done.add(gate.id)
            finished = all(gate.id in done for gate in gates)
            self._forget_old(now)
        return finished

    def _decide(
        self,
        gate: GateConfig,
        watchlists: WatchlistIndex,
        channel_id: str,
        track_id: int,
        reading: PlateReading,
        captured_at: datetime,
        received_monotonic: float,
        crop: np.ndarray | None,
    ) -> None:
        verdict = decide(gate, watchlists.match(reading.text, captured_at, gate.id))
        decision = GateDecision(
            site_id=self.site_id,
            device_id=self.device_id,
            gate_id=gate.id,
            channel_id=channel_id,
            track_id=track_id,
            plate=reading,
            action=verdict.action,
            rule=verdict.rule,
            alert=verdict.alert,
            matches=verdict.matches,
            watchlist_version=watchlists.version,
            captured_at=captured_at,
            decided_at=datetime.now(UTC),
        )
        log.info(
            "gate %s: %s by %s (decision %s)", gate.id, verdict.action, verdict.rule, decision.decision_id
        )
        self.runners[gate.id].submit(
            PendingDecision(decision, received_monotonic, crop, send=verdict.action == "open")
        )

    def open_manually(self, gate_id: str, requested_by: str) -> bool:
        """Open a gate on request (Home Assistant's button): sent and recorded like any decision,
        with rule "manual" and no plate. False for a gate this box does not have."""
        gate = self._gates.get(gate_id)
        if gate is None:
            log.warning("manual open of unknown gate %r refused", gate_id)
            return False
        now = datetime.now(UTC)
        decision = GateDecision(
            site_id=self.site_id,
            device_id=self.device_id,
            gate_id=gate.id,
            channel_id=gate.channels[0],
            track_id=0,
            plate=None,
            action="open",
            rule="manual",
            alert=False,
            watchlist_version=self._watchlists.version,
            captured_at=now,
            decided_at=now,
            requested_by=requested_by,
        )
        log.info(
            "gate %s: manual open requested by %s (decision %s)", gate.id, requested_by, decision.decision_id
        )
        self.runners[gate.id].submit(PendingDecision(decision, time.monotonic(), None, send=True))
        return True

    def _forget_old(self, now: float) -> None:
        if len(self._recent) < 1024:
            return
        longest = max((g.debounce_s for g in self._gates.values()), default=0.0)
        self._recent = {k: t for k, t in self._recent.items() if now - t < longest}

    # --- lifecycle ---------------------------------------------------------------------------------

    def drain(self, timeout: float = 10.0) -> bool:
        return all(runner.drain(timeout) for runner in list(self.runners.values()))

    def stop(self) -> None:
        with self._lock:
            for runner in self.runners.values():
                runner.stop()
            self.runners.clear()
