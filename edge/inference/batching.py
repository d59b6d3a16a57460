"""Plate reading batched across channels.

Each channel's worker asks for its crops to be read and waits. One reader thread gathers the
crops of all channels into batches of up to `batch_size`, waiting at most `max_wait_ms` after
the first crop for the batch to fill: a batch of eight costs far less than eight single reads,
and the wait bound keeps a lone camera's latency low.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from common.plates.reading import PlateReading
from edge.inference.protocols import PlateReader

log = logging.getLogger(__name__)

BatchObserver = Callable[[int, float], None]  # (batch size, seconds spent reading)


class BatcherStopped(RuntimeError):
    """The batcher was stopped before it read these crops."""


@dataclass
class _Request:
    crop: np.ndarray
    result: Future[PlateReading]
    plate: object = None  # views of one plate of one caller share it


class ReadBatcher:
    def __init__(
        self,
        reader: PlateReader,
        batch_size: int,
        max_wait_ms: float,
        on_batch: BatchObserver | None = None,
    ) -> None:
        self.reader = reader  # replaced in place when a config reload loads a new model
        self.batch_size = batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._on_batch = on_batch
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ocr-batcher", daemon=True)
        self.batches = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._fail_pending()

    def configure(self, batch_size: int, max_wait_ms: float) -> None:
        self.batch_size = batch_size
        self.max_wait_s = max_wait_ms / 1000.0

    def read(
        self,
        crops: Sequence[np.ndarray],
        at_least: Sequence[float] | None = None,
        plate_ids: Sequence[int] | None = None,
        timeout: float | None = 60.0,
    ) -> list[PlateReading]:
        """Readings of `crops`, in order; blocks until the reader thread has read them all.
        `at_least` is only a hint (see `PlateReader.read`): crops of several callers share one
        batch, so every crop is read in full. `plate_ids` stay this caller's: views of one plate
        are one plate in the batch only where the batch holds them together."""
        if self._stopped.is_set():
            raise BatcherStopped("the OCR batcher is stopped")
        if plate_ids is not None and len(plate_ids) != len(crops):
            raise ValueError(f"plate_ids has {len(plate_ids)} values for {len(crops)} crops")
        caller = object()
        plates = [None] * len(crops) if plate_ids is None else [(caller, p) for p in plate_ids]
        requests = [_Request(crop, Future(), plate) for crop, plate in zip(crops, plates, strict=True)]
        for request in requests:
            self._queue.put(request)
        return [request.result.result(timeout) for request in requests]

    def _run(self) -> None:
        while not self._stopped.is_set():
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.batch_size:
                remaining = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._stopped.set()
                    break
                batch.append(item)
            self._read_batch(batch)
        self._fail_pending()

    def _read_batch(self, batch: list[_Request]) -> None:
        started = time.perf_counter()
        try:
            # A crop of no caller's plate is a plate of its own.
            ids: dict[object, int] = {}
            plate_ids = [
                ids.setdefault(request.plate if request.plate is not None else i, len(ids))
                for i, request in enumerate(batch)
            ]
            readings = self.reader.read([request.crop for request in batch], plate_ids=plate_ids)
            if len(readings) != len(batch):
                raise RuntimeError(f"reader returned {len(readings)} readings for {len(batch)} crops")
        except Exception as exc:  # one bad batch must not kill the reader thread for every channel
            log.exception("plate reader failed on a batch of %d crops", len(batch))
            for request in batch:
                request.result.set_exception(exc)
            return
        elapsed = time.perf_counter() - started
        self.batches += 1
        if self._on_batch is not None:
            self._on_batch(len(batch), elapsed)
        for request, reading in zip(batch, readings, strict=True):
            request.result.set_result(reading)

    def _fail_pending(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and not item.result.done():
                item.result.set_exception(BatcherStopped("the OCR batcher stopped"))
