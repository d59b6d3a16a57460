"""Real local stand-ins for gate hardware: an HTTP relay board and a Modbus TCP device (pymodbus).

Used by the gate tests and by bench/bench_gates.py. Each records when a command arrived
(time.monotonic), so latency can be measured to the moment the device got it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from provisioning.local_broker import free_port


@dataclass
class RelayRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float  # time.monotonic() on arrival


@dataclass
class HttpRelayStandIn:
    """A relay board's HTTP API on 127.0.0.1: answers `status` (200 unless told otherwise)."""

    status: int = 200
    # Close each connection after answering without saying so, as relay boards with tiny web
    # servers do: the client's kept-alive socket is then stale at the next command.
    drop_connections: bool = False
    requests: list[RelayRequest] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a relay board's web server does

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with standin.arrived:
                    standin.requests.append(
                        RelayRequest(self.command, self.path, dict(self.headers), body, time.monotonic())
                    )
                    standin.arrived.notify_all()
                payload = b'{"ok": true}'
                self.send_response(standin.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if standin.drop_connections:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/relay/1"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RelayRequest]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"relay got {len(self.requests)} requests, expected {count}")
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ModbusStandIn:
    """A pymodbus TCP server on 127.0.0.1 (device 1, 64 coils); records each coil write and its time."""

    def __init__(self) -> None:
        from pymodbus.simulator import SimDevice
        from pymodbus.simulator.simdata import DataType, SimData

        self.writes: list[tuple[int, bool, float]] = []  # (coil, value, time.monotonic())
        self.state: dict[int, bool] = {}
        self.changed = threading.Condition()

        async def record(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            current_registers: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> None:
            if set_values is None or function_code not in (5, 15):
                return None
            with self.changed:
                for offset, value in enumerate(set_values):
                    self.writes.append((address + offset, bool(value), time.monotonic()))
                    self.state[address + offset] = bool(value)
                self.changed.notify_all()
            return None

        def block(datatype: DataType, value: object) -> list[SimData]:
            return [SimData(0, count=64, values=value, datatype=datatype)]

        self.device = SimDevice(
            1,
            simdata=(
                block(DataType.BITS, False),
                block(DataType.BITS, False),
                block(DataType.REGISTERS, 0),
                block(DataType.REGISTERS, 0),
            ),
            action=record,
        )
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Modbus stand-in did not start")

    def _serve(self) -> None:
        from pymodbus.server import ModbusTcpServer

        asyncio.set_event_loop(self._loop)

        async def run() -> None:
            self.server = ModbusTcpServer(self.device, address=("127.0.0.1", self.port))
            task = asyncio.create_task(self.server.serve_forever())
            for _ in range(200):  # ready once a client can connect
                try:
                    _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.02)
            self._ready.set()
            await task

        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(run())

    def coil(self, address: int) -> bool:
        with self.changed:
            return self.state.get(address, False)

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"Modbus stand-in: condition not met; writes so far {self.writes}")

    def close(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self.server.shutdown(), self._loop)
        with contextlib.suppress(Exception):  # already stopped
            future.result(10)
        self._thread.join(10)
