"""kill -9 anywhere (issue 26 §4): a virtual-time run on PostgreSQL through a
real server process and a controller process, both killed at random.

The driver (this process) plays the application and the plan's people. Each
virtual step it moves the clock file the server reads (`kill_app`), pushes the
step's events to `POST /api/v1/events` under the step's batch key, has the
controller process tick at the step's instant, and then lets the people do
what the run waits for through the API (sign, vote, re-enable), deciding from
the run as the server shows it. Whatever fails because a process is dead is
retried once it runs again: an event batch under the same key, a tick at the
same instant (a tick decides until the run settles, so repeating it writes
nothing new), a person's command after reading the run afresh (a command
that did land is then seen as done and not sent again).

A killer thread sends SIGKILL to the server or the controller at random
moments (seeded); the driver restarts whichever it finds dead. The outcome
(run log, run rows, flags, flag audit rows, windows, outbox, the webhook
deliveries a local receiver accepted) is compared with an uninterrupted run of
the same steps, cell for cell: the guards' running bounds too, since the looks
they intersect are kept in the run's state (`engine.looks`), not in the
controller's memory. Used by `tests/engine/test_kill_anywhere.py` (20 kills) and
`bench/kills.py` (100).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.store import Author, SqlFlagStore
from flagramp.store.database import open_engine
from flagramp.store.notification_tables import notification_outbox
from flagramp.store.run_tables import run_events, run_incidents, runs
from flagramp.store.tables import audit_log, flags
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from flagramp.store.window_tables import metric_windows
from tests.engine import kill_app
from tests.engine.notifications.receivers import WebhookReceiver, webhook_receiver
from tests.server.live_server import free_port

ENG = "eng@va.gov"
PO = "po@va.gov"
FLAG = "new_flow"
SECRET = "kill-nine-webhook-secret"
SETUP = Author("kill-rig-setup")
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
#: Virtual time between two steps, and the users each minute of it brings.
STEP = dt.timedelta(minutes=10)
USERS_PER_MINUTE = 20
#: Share of a treated user's requests that fail while the regression is on
#: (the Half stage, until its first rollback), and everyone's base share.
REGRESSED_FAILURES = 0.3
BASE_FAILURES = 0.01
#: Most steps a run may take before the rig gives up (it completes in ~40).
MAX_STEPS = 30

PLAN = """\
name: kills
title: A release killed at random
owner: eng
product_owner: po
environment: production
traffic: {users_per_day: 57600, requests_per_minute: 120}
roles:
  eng: {people: [eng@va.gov], signs: [go_no_go, prerequisite, kill_switch, revert]}
  po: {people: [po@va.gov], signs: [go_no_go, re-enable]}
flags:
  new_flow: {create: true}
prerequisites:
  - {text: QA passed in staging, signed_by: eng}
  - {text: On-call rota agreed, signed_by: eng}
events:
  request: {kind: request}
metrics:
  error_rate: {kind: ratio, numerator: request_failed, denominator: request}
x-criteria: &criteria
  - kind: absolute
    metric: error_rate
    below: 5
    mde: 1
    severity: critical
    mode: rollback
phases:
  - name: Rollout
    flags: [new_flow]
    stages:
      - name: Canary
        percentage: 20
        hold: 30m
        criteria: *criteria
        go_no_go: [eng, po]
      - {name: Half, percentage: 50, hold: 30m, criteria: *criteria}
      - {name: All, percentage: 100, hold: 30m, criteria: *criteria}
rollback:
  severities:
    critical: {action: disable_all}
  re-enable: {approved_by: [po]}
  kill_switch: [eng]
  revert_confirmed_by: [eng]
"""


# --- the processes ----------------------------------------------------------


def forkserver() -> Any:
    """The fork server both processes start from: a clean process (no
    threads) that has imported the app and the engine once, so a restart costs
    milliseconds of fork, not seconds of imports (SciPy among them)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "uvicorn", "flagramp.server.app"])
    return context


def controller_main(url: str, conn: multiprocessing.connection.Connection) -> None:
    """The controller process: holds the lease, then ticks at each instant the
    driver sends and answers when the tick is done (to be killed anywhere)."""
    from flagramp.core.clock import VirtualClock
    from flagramp.engine.controller import Controller
    from flagramp.engine.lease import Lease
    from flagramp.store.windows import WindowStore

    engine = open_engine(url, migrate=False)
    clock = VirtualClock(T0)
    controller = Controller(SqlFlagStore(engine, clock), WindowStore(engine), clock)
    # A killed holder's session ends with its socket, so this wait is short.
    Lease(engine).acquire(retry_seconds=0.05)
    conn.send("ready")
    while True:
        try:
            at = conn.recv()
        except EOFError:
            os._exit(0)
        clock.current = dt.datetime.fromisoformat(at)
        controller.tick()
        conn.send(at)


class ControllerProcess:
    """The controller as a process of its own, restarted when found dead.

    Forked from `forkserver()` (unlike a fork of this process, it inherits
    none of the driver's threads)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.process: Any = None
        self.conn: multiprocessing.connection.Connection | None = None
        self.starts = 0
        self.lock = threading.Lock()
        self.ready = False

    def start(self) -> None:
        parent, child = multiprocessing.Pipe()
        process = forkserver().Process(
            target=controller_main, args=(self.url, child), daemon=True
        )
        process.start()
        child.close()
        with self.lock:
            self.process, self.conn, self.ready = process, parent, False
        self.starts += 1

    def pid(self) -> int | None:
        with self.lock:
            process = self.process
        alive = process is not None and self.ready and process.is_alive()
        return int(process.pid) if alive else None

    def tick(self, at: dt.datetime) -> int:
        """Tick at `at`, restarting the process until one tick completes;
        returns how many attempts died."""
        died = 0
        while True:
            try:
                if self.conn is None or not self.process.is_alive():
                    self._reap()
                    self.start()
                    assert self.conn is not None
                    if self.conn.recv() != "ready":
                        raise EOFError
                    self.ready = True
                assert self.conn is not None
                self.conn.send(at.isoformat())
                if self.conn.recv() == at.isoformat():
                    return died
            except (EOFError, OSError):
                died += 1
                self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            self.process.join(5)
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        self._reap()


# --- the server process -----------------------------------------------------


def server_main(url: str, clock_file: str, port: int, log: str) -> None:
    """The server process: uvicorn on `kill_app`'s app, on `port`."""
    import uvicorn

    os.environ["FLAGRAMP_DATABASE_URL"] = url
    os.environ[kill_app.CLOCK_FILE] = clock_file
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(out, 1)
    os.dup2(out, 2)
    uvicorn.run(
        kill_app.app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


class ServerProcess:
    """The server (uvicorn on `kill_app`'s factory), on one port for all its
    lives, forked from the fork server that has imported the app once: its
    start costs the app's wiring and uvicorn's, not Python's imports."""

    def __init__(self, url: str, clock_file: Path, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url, self.clock_file = url, clock_file
        self.workdir = workdir
        self.process: Any = None
        self.start_seconds: list[float] = []
        self.lock = threading.Lock()
        self.serving = False

    def start(self) -> None:
        started = time.perf_counter()
        self.serving = False
        process = forkserver().Process(
            target=server_main,
            args=(self.url, str(self.clock_file), self.port, str(self.log)),
            daemon=True,
        )
        process.start()
        with self.lock:
            self.process = process
        deadline = time.monotonic() + 60
        while True:
            if not process.is_alive():
                return  # killed while starting: the caller starts another
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {self.tail()}")
            time.sleep(0.02)
        self.start_seconds.append(time.perf_counter() - started)
        self.serving = True

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def pid(self) -> int | None:
        """The server's pid once it answers (a start is not killed: it is
        the cost, not the test)."""
        with self.lock:
            process = self.process
        alive = process is not None and self.serving and process.is_alive()
        return int(process.pid) if alive else None

    def ensure(self) -> None:
        if self.process is None or not self.process.is_alive():
            if self.process is not None:
                self.process.join()
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(15)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


# --- the killer -------------------------------------------------------------


@dataclass
class Killer:
    """SIGKILLs the server or the controller after seeded random pauses,
    `kills` times in all, each time a process that is alive."""

    server: ServerProcess
    controller: ControllerProcess
    kills: int
    seed: int
    server_share: float
    pause: tuple[float, float]
    log: list[tuple[str, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = random.Random(self.seed)
        begun = time.monotonic()
        while len(self.log) < self.kills and not self.stop.is_set():
            if self.stop.wait(rng.uniform(*self.pause)):
                return
            target = "server" if rng.random() < self.server_share else "controller"
            pid = (self.server if target == "server" else self.controller).pid()
            if pid is None:
                continue  # it is starting again; the next pause picks anew
            os.kill(pid, signal.SIGKILL)
            self.log.append((target, time.monotonic() - begun))


# --- the driver -------------------------------------------------------------


def variant_on(percentage: float, actor: str) -> bool:
    """Flipper's bucket for the flag (`core.flags.bucketing`'s rule)."""
    bucket = zlib.crc32(f"{FLAG}{actor}".encode()) % 100_000
    return bucket < percentage * 1_000


def step_events(step: int, percentage: float, regressed: bool) -> list[dict[str, Any]]:
    """The step's exposures and requests: USERS_PER_MINUTE fresh users a minute,
    two requests each; which fail is fixed by the user's id."""
    events: list[dict[str, Any]] = []
    end = T0 + step * STEP
    minutes = int(STEP.total_seconds() // 60)
    for minute in range(minutes):
        at = end - dt.timedelta(minutes=minutes - minute) + dt.timedelta(seconds=20)
        stamp = at.isoformat().replace("+00:00", "Z")
        for user in range(USERS_PER_MINUTE):
            actor = f"u-{step}-{minute}-{user}"
            on = variant_on(percentage, actor)
            events.append(
                {
                    "type": "exposure",
                    "at": stamp,
                    "actor": actor,
                    "flag": FLAG,
                    "variant": "on" if on else "off",
                }
            )
            share = REGRESSED_FAILURES if on and regressed else BASE_FAILURES
            for request in range(2):
                draw = zlib.crc32(f"{actor}/{request}".encode()) % 10_000 / 10_000
                failed = draw < share
                events.append(
                    {
                        "type": "request",
                        "at": stamp,
                        "actor": actor,
                        "route": "/appointments",
                        "status": 500 if failed else 200,
                        "latency_ms": 120.0,
                        **({"error": "Timeout::Oracle"} if failed else {}),
                    }
                )
    return events


@dataclass
class Figures:
    """What one run of the rig measured."""

    steps: int = 0
    wall_seconds: float = 0.0
    kills: list[tuple[str, float]] = field(default_factory=list)
    server_starts: list[float] = field(default_factory=list)
    controller_starts: int = 0
    retried_requests: int = 0
    repeated_ticks: int = 0
    webhook_requests: int = 0


class Driver:
    """Plays the app and the people against the server, ticks the controller."""

    def __init__(
        self,
        server: ServerProcess,
        controller: ControllerProcess,
        clock_file: Path,
        tokens: dict[str, str],
    ) -> None:
        self.server, self.controller = server, controller
        self.clock_file, self.tokens = clock_file, tokens
        self.client = httpx.Client(base_url=server.base, timeout=30)
        self.retried = 0
        self.repeated = 0

    def call(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        """One request, sent again (after a restart of the server if it is
        dead) until it gets an answer that is not a dying server's."""
        headers = {"authorization": f"Bearer {self.tokens[who]}"}
        headers.update(kwargs.pop("headers", {}))
        while True:
            self.server.ensure()
            try:
                answer = self.client.request(
                    method, f"/api/v1{path}", headers=headers, **kwargs
                )
            except httpx.TransportError:
                self.retried += 1
                continue
            if answer.status_code >= 500:
                self.retried += 1
                continue
            return answer

    def set_clock(self, at: dt.datetime) -> None:
        fresh = self.clock_file.with_suffix(".new")
        fresh.write_text(at.isoformat())
        os.replace(fresh, self.clock_file)

    def start_run(self) -> None:
        self.set_clock(T0)
        answer = self.call(
            "POST",
            "/runs",
            "eng",
            headers={"content-type": "application/yaml"},
            content=PLAN,
        )
        assert answer.status_code == 201, answer.text

    def show(self) -> dict[str, Any]:
        answer = self.call("GET", "/runs/R1", "viewer")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def percentage(self) -> float:
        answer = self.call("GET", f"/flags/{FLAG}", "viewer")
        if answer.status_code == 404:
            return 0.0  # the run creates it when its first stage starts
        assert answer.status_code == 200, answer.text
        gates = answer.json()["gates"]
        if gates.get("boolean") in (True, "true"):
            return 100.0
        return float(gates.get("percentage_of_actors") or 0)

    def step(self, step: int) -> str:
        """One virtual step; returns the run's status after it."""
        at = T0 + step * STEP
        self.set_clock(at)
        run = self.show()
        regressed = run["stage"] == "Half" and run["state"]["incident_count"] == 0
        body = {
            "batch_key": f"kill-rig-{step}",
            "events": step_events(step, self.percentage(), regressed),
        }
        answer = self.call("POST", "/events", "sdk", json=body)
        assert answer.status_code == 200, answer.text
        self.repeated += self.controller.tick(at)
        return self.people()

    def people(self) -> str:
        """The plan's people do what the run waits for, from what it shows."""
        for _ in range(8):
            run = self.show()
            state = run["state"]
            status: str = run["status"]
            if status == "waiting_prerequisites":
                signed = {s["item"] for s in state["signed"]}
                item = min(set(range(2)) - signed) + 1
                self.command("sign", "eng", item=item, note="done")
            elif status == "awaiting_go_no_go" and state["gate"] is not None:
                voted = {v["role"] for v in state["votes"]}
                role = next(r for r in state["gate"]["roles"] if r not in voted)
                person = "eng" if role == "eng" else "po"
                self.command("vote", person, role=role, answer="launch", comment="ok")
            elif status == "rolled_back":
                self.command(
                    "re-enable", "po", root_cause="timeouts in the Oracle adapter"
                )
            else:
                return status
        raise AssertionError(f"people could not settle the run: {run['status']}")

    def command(self, name: str, who: str, **body: Any) -> None:
        answer = self.call("POST", f"/runs/R1/{name}", who, json=body)
        # 409: the command is no longer what the run waits for; the next
        # look at the run decides again.
        assert answer.status_code in (200, 409), answer.text


def prepare(url: str, hook: str) -> dict[str, str]:
    """Migrate, make the environment, the webhook and the people's tokens."""
    store = SqlFlagStore(open_engine(url))
    try:
        with store.unit_of_work(SETUP) as unit:
            unit.record("production", "environment", "production", "create", None, {})
            add_webhook(
                unit,
                "production",
                hook,
                format=WebhookFormat.JSON,
                secret=SECRET,
                at=T0,
            )
        issuer = TokenStore(store)
        tokens = {}
        for name, owner, permission in (
            ("eng", ENG, Permission.ENGINEER),
            ("po", PO, Permission.ENGINEER),
            ("viewer", "viewer@va.gov", Permission.VIEWER),
            ("admin", "admin@va.gov", Permission.ADMIN),
        ):
            tokens[name] = issuer.issue(
                owner=owner,
                owner_kind=OwnerKind.PERSON,
                permission=permission,
                author=SETUP,
            ).token
        tokens["sdk"] = issuer.issue(
            owner="app-production",
            owner_kind=OwnerKind.SERVICE,
            permission=Permission.SDK,
            environment="production",
            author=SETUP,
        ).token
        return tokens
    finally:
        store.engine.dispose()


@dataclass
class Outcome:
    """What a run left: rows of the store, and the receiver's deliveries."""

    tables: dict[str, list[tuple[object, ...]]]
    deliveries: dict[str, bytes]
    """Delivery id → body, once per id, of the deliveries signed right."""
    badly_signed: int
    figures: Figures


def read_tables(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = open_engine(url, migrate=False)
    a = audit_log.c
    chosen = {
        "events": sa.select(run_events).order_by(run_events.c.seq),
        "runs": sa.select(runs),
        "incidents": sa.select(run_incidents),
        "flags": sa.select(flags.c.key, flags.c.state, flags.c.version),
        # the flags' history: everything but the chain's hashes and ids,
        # which differ with the tokens each store issued
        "flag_audit": sa.select(
            a.at, a.actor, a.reason, a.entity_key, a.action, a.before, a.after
        )
        .where(a.entity_kind == "flag")
        .order_by(a.id),
        "windows": sa.select(metric_windows).order_by(*metric_windows.primary_key),
        "outbox": sa.select(
            notification_outbox.c.notice_key,
            notification_outbox.c.destination,
            notification_outbox.c.notice,
        ).order_by(notification_outbox.c.notice_key),
    }
    try:
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(q)] for name, q in chosen.items()
            }
    finally:
        engine.dispose()


def run_rig(
    url: str,
    workdir: Path,
    *,
    kills: int = 0,
    seed: int = 26,
    server_share: float = 0.3,
    pause: tuple[float, float] = (0.1, 0.6),
    progress: Callable[[str], None] | None = None,
) -> Outcome:
    """One whole run on the migrated-or-empty database `url`; with `kills`,
    the killer runs beside it until it has killed that many times (the run
    goes on past its end, repeating its last step, until it has)."""
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    clock_file = workdir / "clock"
    receiver = WebhookReceiver(secret=SECRET)
    server = ServerProcess(url, clock_file, workdir)
    controller = ControllerProcess(url)
    figures = Figures()
    with webhook_receiver(receiver) as hook:
        tokens = prepare(url, hook.url)
        driver = Driver(server, controller, clock_file, tokens)
        driver.set_clock(T0)
        server.start()
        driver.start_run()
        killer = Killer(server, controller, kills, seed, server_share, pause)
        thread = threading.Thread(target=killer.run, name="killer", daemon=True)
        thread.start()
        try:
            step, status = 0, ""
            while status != "completed" and step < MAX_STEPS:
                step += 1
                status = driver.step(step)
                if progress is not None:
                    progress(f"step {step}: {status}, {len(killer.log)} kills")
            if status != "completed":
                log = driver.call("GET", "/runs/R1/log", "viewer").json()["events"]
                shown = [(e["kind"], e["data"]) for e in log]
                raise AssertionError(f"the run is {status} after {step} steps: {shown}")
            # The last kills land while the finished run is ticked again at
            # its last instant (nothing is left to decide, all is retried).
            while len(killer.log) < kills:
                driver.controller.tick(T0 + step * STEP)
                driver.show()
        finally:
            killer.stop.set()
            thread.join()
            driver.client.close()
            controller.stop()
            server.stop()
        figures.steps = step
        figures.kills = killer.log
        figures.server_starts = server.start_seconds
        figures.controller_starts = controller.starts
        figures.retried_requests = driver.retried
        figures.repeated_ticks = driver.repeated
        figures.webhook_requests = len(receiver.requests)
        badly = sum(1 for r in receiver.requests if r.signed_ok is not True)
        deliveries = dict(receiver.accepted)
    figures.wall_seconds = time.perf_counter() - began
    return Outcome(read_tables(url), deliveries, badly, figures)
