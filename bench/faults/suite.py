"""The fault suite: an edge box, a broker and two central replicas in their own network namespaces,
events flowing while faults follow one another on a timeline, then the count in central.

Each fault starts once the outbox has drained from the one before, so its figures are its own:
  at        seconds since the first event
  downtime  how long the fault lasted (process dead, link down, loss on)
  resent    events the edge sent again (dropped connection or overdue receipt) from the fault's
            start until drained
  drain     from the fault's end until every event produced before its end is in central (the
            edge's oldest unconfirmed event is younger)

Central's replicas run in their own namespace and reach PostgreSQL through its Unix socket: a
network namespace isolates the network only, so the socket file is reachable while the broker
stays reachable only over the bridge. Two replicas need one database both can write at once;
PostgreSQL is what a multi-replica central runs on (a SQLite file serializes writers).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from bench.faults import netns
from bench.faults.netns import Network
from bench.faults.processes import (
    MQTT_PORT,
    Broker,
    CentralReplica,
    Child,
    EdgeBox,
    child_argv,
    flags,
    wait_for,
)
from central.db.migrate import migrated_scratch_schema
from provisioning import layout
from provisioning.provisioner import Provisioner

SITE, DEVICE, INTRUDER = "site-f", "edge-1", "intruder"
POSTGRES_SOCKET_URL = "postgresql+psycopg://postgres@/test?host=/run/postgresql"


@dataclass(frozen=True)
class Plan:
    events: int
    rate: float  # events per second from the edge box's producer
    broker_kills: int
    broker_down_s: float
    central_down_s: float  # one replica SIGKILLed and left down this long; the other ingests alone
    link_cut_s: float
    loss_percent: int
    loss_s: float
    receipt_timeout_s: float
    drain_timeout_s: float = 180.0


FULL = Plan(10_000, 40.0, 3, 2.0, 10.0, 30.0, 20, 30.0, 10.0)
CI = Plan(1_000, 25.0, 1, 1.0, 3.0, 4.0, 20, 4.0, 3.0, drain_timeout_s=60.0)


@dataclass
class FaultRow:
    fault: str
    at_s: float
    downtime_s: float
    resent: int
    drain_s: float | None  # None: not drained within the plan's drain timeout


@dataclass
class Result:
    plan: Plan
    loss_method: str
    produced: list[str]
    central_ids: list[str]
    rows: list[FaultRow] = field(default_factory=list)
    takeover: dict[str, Any] = field(default_factory=dict)
    takeover_log: list[str] = field(default_factory=list)  # broker lines that show a session taken over
    stored_by: dict[str, int] = field(
        default_factory=dict
    )  # as each replica counted (a kill can lose one count)
    total_s: float = 0.0
    edge_counters: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> set[str]:
        return set(self.produced) - set(self.central_ids)

    @property
    def duplicates(self) -> int:
        return len(self.central_ids) - len(set(self.central_ids))

    @property
    def unexpected(self) -> set[str]:
        return set(self.central_ids) - set(self.produced)

    @property
    def takeover_refused(self) -> bool:
        """No session changed hands: the intruder got a fresh session of its own under both client
        ids, read nothing of central's, could not forge a receipt, and closed nobody's connection.
        (Mosquitto 2.0 grants its SUBSCRIBE and checks "read" on each delivery instead.)"""
        as_central, as_edge = self.takeover.get("as_central", {}), self.takeover.get("as_edge_box", {})
        return (
            as_central.get("session_present") is False
            and as_central.get("messages") == 0
            and "Not authorized" in str(as_central.get("forged_receipt"))
            and as_edge.get("connack") == "Success"
            and as_edge.get("messages") == 0
            and not self.takeover_log
        )

    def table(self) -> str:
        lines = [
            "| fault | at | downtime | events resent | time to drain |",
            "|---|---|---|---|---|",
        ]
        for row in self.rows:
            drain = f"{row.drain_s:.1f} s" if row.drain_s is not None else "not drained"
            lines.append(
                f"| {row.fault} | {row.at_s:.0f} s | {row.downtime_s:.1f} s | {row.resent} | {drain} |"
            )
        return "\n".join(lines)

    def summary(self) -> str:
        return (
            f"{len(self.produced)} events produced, {len(self.central_ids)} rows in central "
            f"({len(set(self.central_ids))} distinct): {len(self.lost)} lost, "
            f"{self.duplicates} duplicate rows, "
            f"{len(self.unexpected)} unknown; stored by replica {self.stored_by}; takeover "
            f"{'refused' if self.takeover_refused else 'NOT refused'}; packet loss by {self.loss_method}; "
            f"{self.total_s:.0f} s in all; edge re-sent {self.edge_counters.get('retries')} "
            f"({self.edge_counters.get('receipt_timeouts')} after a receipt timeout), "
            f"reconnected {self.edge_counters.get('reconnects')} times"
        )


class Timeline:
    """Runs faults one after another, each from a drained outbox: every event produced before the
    fault began is in central (`oldest_pending`, the index of the oldest unconfirmed event, has
    passed it)."""

    def __init__(self, edge: EdgeBox, plan: Plan, log: Callable[[str], None]) -> None:
        self.edge, self.plan, self.log = edge, plan, log
        self.t0 = time.monotonic()
        self.rows: list[FaultRow] = []

    def _drained_up_to(self, produced: int) -> bool:
        return self.edge.oldest_pending() >= produced

    def fault(self, name: str, begin: Callable[[], None], end: Callable[[], None], duration_s: float) -> None:
        before = self.edge.produced()
        wait_for(lambda: self._drained_up_to(before), self.plan.drain_timeout_s, 0.1)
        resent_before = self.edge.counter("retries")
        start = time.monotonic()
        begin()
        time.sleep(duration_s)
        end()
        ended = time.monotonic()
        produced = self.edge.produced()
        drained = wait_for(lambda: self._drained_up_to(produced), self.plan.drain_timeout_s, 0.1)
        drain_s = time.monotonic() - ended if drained else None
        row = FaultRow(
            name, start - self.t0, ended - start, self.edge.counter("retries") - resent_before, drain_s
        )
        self.rows.append(row)
        self.log(
            f"[faults] {name}: at {row.at_s:.0f} s, down {row.downtime_s:.1f} s, resent {row.resent}, "
            f"drained {f'in {drain_s:.1f} s' if drain_s is not None else 'NOT'}; "
            f"pending {self.edge.pending()}"
        )


def missing_requirements() -> str | None:
    """Why the suite cannot run here (see netns.missing_requirements), or None."""
    reason = netns.missing_requirements()
    if reason is not None:
        return reason
    engine = create_engine(POSTGRES_SOCKET_URL)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        return f"needs PostgreSQL on its Unix socket ({POSTGRES_SOCKET_URL}): {str(exc.orig).strip()}"
    finally:
        engine.dispose()
    return None


@contextmanager
def _postgres_schema() -> Iterator[tuple[Engine, str]]:
    admin = create_engine(POSTGRES_SOCKET_URL, isolation_level="AUTOCOMMIT")
    try:
        with migrated_scratch_schema(admin, POSTGRES_SOCKET_URL, "faults") as engine:
            with engine.connect() as connection:
                schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
            yield engine, schema
    finally:
        admin.dispose()


def _provision(root: Path, broker_ip: str) -> Provisioner:
    fleet = Provisioner(root)
    fleet.add_device(
        SITE,
        DEVICE,
        broker_host=broker_ip,
        broker_port=MQTT_PORT,
        install_dir=fleet.device_dir(SITE, DEVICE),
        use_tool=False,
    )
    fleet.add_device(SITE, INTRUDER, install_dir=fleet.device_dir(SITE, INTRUDER), use_tool=False)
    fleet.add_central("central-a", use_tool=False)
    fleet.add_central("central-b", use_tool=False)
    return fleet


def _takeover(network: Network, fleet: Provisioner, broker: Broker) -> tuple[dict[str, Any], list[str]]:
    """The intruder box (same site, its own login) tries to take over central's session and the
    edge box's; returns its findings and the broker's log lines of any connection taken over."""
    offset = len(broker.log_text())
    argv = child_argv(
        network.edge,
        "takeover",
        flags(
            host=network.broker_ip,
            port=MQTT_PORT,
            username=f"{SITE}/{INTRUDER}",
            password_file=fleet.device_dir(SITE, INTRUDER) / layout.MQTT_PASSWORD,
            site=SITE,
            victim_device=DEVICE,
            # The ids the broker really uses for them (their logins: use_username_as_clientid).
            central_client_id="central-a",
            victim_client_id=f"{SITE}/{DEVICE}",
        ),
    )
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2]
    )
    if out.returncode != 0:
        raise RuntimeError(f"takeover probe failed: {out.stderr[-2000:]}")
    time.sleep(0.5)  # the broker logs a takeover a moment after it happens
    kicked = [
        line
        for line in broker.log_text()[offset:].splitlines()
        if "already connected, closing old connection" in line
    ]
    return json.loads(out.stdout.strip().splitlines()[-1]), kicked


Fault = tuple[str, Callable[[], None], Callable[[], None], float]  # name, begin, end, duration


def _faults(plan: Plan, network: Network, broker: Broker, replica: CentralReplica) -> list[Fault]:
    """The timeline after the takeover attempt: broker kills with the other faults between them."""
    faults: list[Fault] = []
    for number in range(plan.broker_kills):
        faults.append((f"broker SIGKILL {number + 1}", broker.kill, broker.start, plan.broker_down_s))
        if number == 0:
            loss = f"{plan.loss_percent}% packet loss on the edge link"
            faults.append(
                (loss, lambda: network.set_edge_loss(plan.loss_percent), network.clear_edge_loss, plan.loss_s)
            )
            killed = "central replica SIGKILL (the other ingests alone)"
            faults.append((killed, replica.kill, replica.start, plan.central_down_s))
        if number == min(1, plan.broker_kills - 1):
            cut = (network.cut_edge_link, network.restore_edge_link)
            faults.append(("edge link cut", *cut, plan.link_cut_s))
    return faults


def run_suite(plan: Plan, workdir: Path | None = None, log: Callable[[str], None] = print) -> Result:
    """Runs the whole suite; namespaces and processes are gone when it returns or raises."""
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fault-suite-")))
        network = Network.create()
        stack.callback(network.teardown)
        fleet = _provision(workdir / "prov", network.broker_ip)
        engine, schema = stack.enter_context(_postgres_schema())
        children: list[Child] = []
        stack.callback(lambda: [child.stop(5) for child in reversed(children)])
        broker = Broker(network, fleet.broker_dir, workdir)
        broker.start()
        children.append(broker)
        replicas = {
            name: CentralReplica(
                network,
                workdir,
                name,
                fleet.root / "services" / name / "mqtt.password",
                POSTGRES_SOCKET_URL,
                schema,
            )
            for name in ("central-a", "central-b")
        }
        for replica in replicas.values():
            replica.start()
            children.append(replica)
        edge = EdgeBox(
            network,
            workdir,
            flags(
                site=SITE,
                device=DEVICE,
                count=plan.events,
                rate=plan.rate,
                receipt_timeout_s=plan.receipt_timeout_s,
                password_file=fleet.device_dir(SITE, DEVICE) / layout.MQTT_PASSWORD,
            ),
        )
        edge.start()
        children.append(edge)
        if not wait_for(lambda: edge.status().get("counters", {}).get("connected") is True, 60, 0.1):
            raise RuntimeError(
                f"the edge box did not connect; {edge.log_file.read_text(errors='replace')[-2000:]}"
            )
        timeline = Timeline(edge, plan, log)
        takeover: dict[str, Any] = {}
        kicked: list[str] = []

        def try_takeover() -> None:
            nonlocal takeover, kicked
            takeover, kicked = _takeover(network, fleet, broker)

        timeline.fault("session takeover attempt", try_takeover, lambda: None, 0)
        faults = _faults(plan, network, broker, replicas["central-b"])
        for name, begin, end, duration in faults:
            timeline.fault(name, begin, end, duration)
        wait_for(lambda: edge.produced() >= plan.events, plan.events / plan.rate + 60, 0.2)
        wait_for(lambda: edge.produced() >= plan.events and edge.pending() == 0, plan.drain_timeout_s, 0.2)
        total_s = time.monotonic() - timeline.t0
        edge.stop()
        counters = dict(edge.status().get("counters", {}))
        with engine.connect() as connection:
            central_ids = [str(row[0]) for row in connection.execute(text("SELECT event_id FROM events"))]
        return Result(
            plan=plan,
            loss_method=network.loss_method,
            produced=edge.event_ids(),
            central_ids=central_ids,
            rows=timeline.rows,
            takeover=takeover,
            takeover_log=kicked,
            stored_by={name: replica.stored() for name, replica in replicas.items()},
            total_s=total_s,
            edge_counters=counters,
        )
    raise AssertionError("unreachable")
