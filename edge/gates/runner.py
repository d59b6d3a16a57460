"""One gate's output thread: sends the open command through every output, with brief retries.

The pipeline hands a decision over and goes on with the next frame; this thread sends, measures
the latency (deciding frame received -> first command sent), records each output's result and
passes the finished GateDecision on to be stored (and synced, and alerted on).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import cv2
import numpy as np

from common.gates import GateConfig, GateDecision, OutputResult
from edge.gates.outputs import GateCommand, GateOutput, OutputError, build_output

log = logging.getLogger(__name__)

CROP_JPEG_QUALITY = 90
DEFAULT_ATTEMPTS = 3
DEFAULT_RETRY_DELAY_S = 0.1
_STOP = object()


@dataclass
class PendingDecision:
    """A decision made, its outputs not yet run: the record lacks output results and latency."""

    decision: GateDecision
    received_monotonic: float  # when the deciding frame was read from the camera
    crop: np.ndarray | None = None
    send: bool = True  # closed gates send nothing


@dataclass
class RunnerStats:
    decisions: int = 0
    commands_ok: int = 0
    commands_failed: int = 0
    latencies_s: list[float] = field(default_factory=list)


class _BrokenOutput:
    """Stands in for an output that could not be built, so every decision records why it did not act."""

    def __init__(self, name: str, type_: str, error: str) -> None:
        self.name, self.type, self.error = name, type_, error

    def send(self, command: GateCommand) -> None:
        raise OutputError(self.error)

    def close(self) -> None:
        return None


def _encode_crop(crop: np.ndarray | None) -> bytes | None:
    if crop is None or not crop.size:
        return None
    ok, buffer = cv2.imencode(
        ".jpg", np.ascontiguousarray(crop), [cv2.IMWRITE_JPEG_QUALITY, CROP_JPEG_QUALITY]
    )
    return buffer.tobytes() if ok else None


class GateRunner:
    def __init__(
        self,
        gate: GateConfig,
        record: Callable[[GateDecision], None],
        outputs: list[GateOutput] | None = None,
    ) -> None:
        self.gate = gate
        self._record = record
        self.outputs: list[GateOutput] = outputs if outputs is not None else self._build(gate)
        self.stats = RunnerStats()
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"gate-{gate.id}", daemon=True)
        self._thread.start()

    @staticmethod
    def _build(gate: GateConfig) -> list[GateOutput]:
        built: list[GateOutput] = []
        for settings in gate.outputs:
            name = settings.name or settings.type
            try:
                built.append(build_output(settings))
            except (OutputError, ValueError, OSError) as exc:
                log.error("gate %s: output %s cannot be used: %s", gate.id, name, exc)
                built.append(_BrokenOutput(name, settings.type, str(exc)))
        return built

    def submit(self, pending: PendingDecision) -> None:
        self._queue.put(pending)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted decision has been sent and recorded."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the queued decisions (none is lost), then close the outputs."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        for output in self.outputs:
            try:
                output.close()
            except Exception:
                log.exception("gate %s: closing output %s failed", self.gate.id, output.name)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            assert isinstance(item, PendingDecision)
            try:
                self._record(self._execute(item))
            except Exception:  # a failing store must not end the gate: later decisions still act
                log.exception(
                    "gate %s: recording decision %s failed", self.gate.id, item.decision.decision_id
                )

    def _execute(self, pending: PendingDecision) -> GateDecision:
        decision = pending.decision
        command = GateCommand(
            decision.gate_id, str(decision.decision_id), decision.site_id, decision.device_id
        )
        results: list[OutputResult] = []
        first_sent: float | None = None
        if pending.send:
            for position, output in enumerate(self.outputs):
                result, sent_mono = self._send(position, output, command)
                results.append(result)
                if sent_mono is not None and first_sent is None:
                    first_sent = sent_mono
        latency_ms = (
            None if first_sent is None else max(0.0, (first_sent - pending.received_monotonic) * 1000)
        )
        self.stats.decisions += 1
        if latency_ms is not None:
            self.stats.latencies_s.append(latency_ms / 1000)
        failed = [r for r in results if not r.ok]
        if failed:
            log.error(
                "gate %s: %d of %d outputs failed for decision %s: %s",
                self.gate.id,
                len(failed),
                len(results),
                decision.decision_id,
                "; ".join(f"{r.name}: {r.error}" for r in failed),
            )
        return decision.model_copy(
            update={
                "outputs": tuple(results),
                "latency_ms": latency_ms,
                "crop_jpeg": _encode_crop(pending.crop),
            }
        )

    def _send(
        self, position: int, output: GateOutput, command: GateCommand
    ) -> tuple[OutputResult, float | None]:
        attempts = 0
        error: str | None = None
        # Outputs are built in the order of their settings; injected ones (tests) may have none.
        settings = self.gate.outputs[position] if position < len(self.gate.outputs) else None
        tries = settings.attempts if settings else DEFAULT_ATTEMPTS
        delay = settings.retry_delay_s if settings else DEFAULT_RETRY_DELAY_S
        while attempts < tries:
            attempts += 1
            try:
                output.send(command)
            except OutputError as exc:
                error = str(exc)
                if attempts < tries:
                    time.sleep(delay)
                continue
            except Exception as exc:  # a bug in an output is a failed command, not a dead gate
                log.exception("gate %s: output %s raised", self.gate.id, output.name)
                error = f"{type(exc).__name__}: {exc}"
                break
            sent_mono = time.monotonic()
            self.stats.commands_ok += 1
            return OutputResult(
                name=output.name, type=output.type, ok=True, attempts=attempts, sent_at=datetime.now(UTC)
            ), sent_mono
        self.stats.commands_failed += 1
        return OutputResult(
            name=output.name, type=output.type, ok=False, attempts=attempts, error=(error or "failed")[:1024]
        ), None
