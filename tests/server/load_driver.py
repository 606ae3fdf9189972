"""A bounded load on one server over loopback: SSE clients, events at a paced
rate, and flag changes, with every error counted.

Shared by the suite's small load test (tests/server/test_load.py: 100 clients,
200 requests/s, 10 s) and the benchmark (bench/load.py: 1,000 clients, 2,000
requests/s, 60 s). Everything is bounded: the run lasts `seconds`, requests in
waiting are capped (a request that would pass the cap is counted `late`, not
queued without end), and every wait has a time-out.

What counts as an error: an events answer other than 200 with every event
accepted, a transport error or time-out, a stream that ends or answers other
than 200 before the run stops, and a client that did not see every flag change
exactly once, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from flagramp.core.clock import SystemClock
from flagramp.engine.controller import Controller
from flagramp.engine.service import RunService
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore

#: Events per request (half exposures, half request outcomes).
EVENTS_PER_REQUEST = 10


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How hard, and for how long."""

    clients: int
    requests_per_second: float
    seconds: float
    changes_per_second: float = 1.0
    #: Kept-alive connections sending events.
    connections: int = 4
    #: Requests due but not yet sent beyond which new ones count as `late`.
    max_backlog: int = 500
    #: The flag the events' exposures name (the changes are to `load_flag`).
    exposure_flag: str = "load_flag"


@dataclass
class LoadReport:
    """What happened: counts, latencies, the server's memory."""

    sent: int = 0
    answered: int = 0
    late: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    changes: int = 0
    clients_connected: int = 0
    #: From the first event request due to the last answered.
    elapsed: float = 0.0
    rss_kib: list[tuple[float, int]] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def achieved_rate(self) -> float:
        return self.answered / self.elapsed if self.elapsed else 0.0

    def latency_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def rss_growth_kib(self, warmup: float) -> int:
        """Server memory at the end less memory once `warmup` seconds passed."""
        after = [kib for at, kib in self.rss_kib if at >= warmup]
        return after[-1] - after[0] if len(after) >= 2 else 0

    def summary(self) -> str:
        rss = [kib for _, kib in self.rss_kib]
        memory = f"{rss[0] // 1024}→{rss[-1] // 1024} MiB" if rss else "n/a"
        return (
            f"{self.clients_connected} clients, {self.answered}/{self.sent} event "
            f"requests in {self.elapsed:.1f} s ({self.achieved_rate:.0f}/s), "
            f"p50 {self.latency_ms(0.5):.1f} ms, p99 {self.latency_ms(0.99):.1f} ms, "
            f"{self.changes} changes, "
            f"late {self.late}, errors {dict(self.errors) or 0}, server RSS {memory}"
        )


#: A run at 50 % on `watched_flag`, guarding the load's error rate: with it,
#: every event goes into the run's scope (`start_watching_run`).
WATCHING_PLAN = """\
name: load
title: Events under load
owner: eng
product_owner: po
environment: production
traffic: {users_per_day: 576000, requests_per_minute: 60000}
roles:
  eng: {people: [eng@va.gov], signs: [go_no_go, kill_switch, revert]}
  po: {people: [po@va.gov], signs: [go_no_go, re-enable]}
flags:
  watched_flag: {create: true}
events:
  load_request: {kind: request}
metrics:
  error_rate: {kind: ratio, numerator: load_request_failed, denominator: load_request}
phases:
  - name: Rollout
    flags: [watched_flag]
    stages:
      - name: Half
        percentage: 50
        hold: 1h
        criteria:
          - {kind: absolute, metric: error_rate, below: 5, mde: 1,
             severity: critical, mode: rollback}
rollback:
  severities:
    critical: {action: disable_all}
  re-enable: {approved_by: [po]}
  kill_switch: [eng]
  revert_confirmed_by: [eng]
"""


def start_watching_run(store: SqlFlagStore) -> None:
    """Start `WATCHING_PLAN` and its first stage: from then on the server routes
    every event of `production` to the stage's scope."""
    windows, clock = WindowStore(store.engine), SystemClock()
    RunService(store, windows, clock).start(WATCHING_PLAN, person="eng@va.gov")
    Controller(store, windows, clock).tick()  # the first stage starts
    assert RunService(store, windows, clock).event_routes("production")


def counted_exposures(url: str) -> int:
    """Exposure events in the watching run's stored windows (every lane)."""
    windows = WindowStore.open(url)
    scopes = [
        r.scope
        for r in RunService(
            SqlFlagStore(windows.engine), windows, SystemClock()
        ).event_routes("production")
    ]
    total = sum(
        w.exposed.total_denominator
        for scope in scopes
        for w in windows.windows(scope, "watched_flag")
    )
    windows.engine.dispose()
    return round(total)


def raise_open_files(needed: int) -> int:
    """Raise the soft open-file limit towards `needed` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, needed))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def tree_rss_kib(pid: int) -> int | None:
    """Resident memory of a process and all its descendants (`serve --workers
    N`: the supervisor and its workers), from /proc."""
    own = rss_kib(pid)
    if own is None:
        return None
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return own + sum(tree_rss_kib(int(child)) or 0 for child in children)


def rss_kib(pid: int) -> int | None:
    """A process's resident memory, from /proc (None where there is none)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass
class _Stream:
    versions: list[int] = field(default_factory=list)
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)


async def _stream(
    port: int, token: str, stream: _Stream, stop: asyncio.Event, report: LoadReport
) -> None:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), 30
        )
    except (OSError, TimeoutError):
        report.errors["stream_connect"] += 1
        return
    writer.write(
        (
            "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    event = ""
    try:
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 30)
        if b" 200 " not in status:
            report.errors["stream_status"] += 1
            return
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                if not stop.is_set():
                    report.errors["stream_ended"] += 1
                return
            text = line.decode().rstrip("\r\n")
            if text.startswith("event:"):
                event = text[6:].strip()
            elif text.startswith("data:") and event == "snapshot":
                stream.snapshot.set()
            elif text.startswith("data:") and event == "change":
                stream.versions.append(int(json.loads(text[5:])["version"]))
    except (OSError, TimeoutError, ValueError):
        if not stop.is_set():
            report.errors["stream_broken"] += 1
    finally:
        writer.close()


def _body_template(flag: str) -> str:
    """The JSON of one request's events, with slots for the batch number, the
    actors and the time (formatting it costs a fraction of `json.dumps`, and
    the driver shares its cores with the server it measures)."""
    events: list[str] = []
    for i in range(EVENTS_PER_REQUEST // 2):
        variant = "on" if i % 2 else "off"
        events.append(
            '{"type":"exposure","at":%(now)s,"actor":"%(actor' + str(i) + ')s",'
            '"flag":"' + flag + '","variant":"' + variant + '"}'
        )
        events.append(
            '{"type":"request","at":%(now)s,"actor":"%(actor' + str(i) + ')s",'
            '"route":"/appointments","status":200,"latency_ms":' + f"{80.0 + i}"
            ',"name":"load_request"}'
        )
    return '{"batch_key":"load-%(pid)s-%(number)s","events":[' + ",".join(events) + "]}"


def _events_body(number: int, now: float, template: str) -> bytes:
    slots: dict[str, object] = {"now": repr(now), "pid": os.getpid(), "number": number}
    for i in range(EVENTS_PER_REQUEST // 2):
        slots[f"actor{i}"] = f"user-{(number * 7 + i) % 5_000}"
    return (template % slots).encode()


class _Connection:
    """One kept-alive HTTP/1.1 connection for events (plain asyncio: an httpx
    client's pool costs more CPU per request than the server does)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_events(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port
            )
        assert self.reader is not None
        head = (
            "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _event_worker(
    port: int,
    token: str,
    due: asyncio.Queue[int | None],
    report: LoadReport,
    template: str,
) -> None:
    connection = _Connection(port, token)
    try:
        while (number := await due.get()) is not None:
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(
                    connection.post_events(_events_body(number, time.time(), template)),
                    30,
                )
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
                report.errors["events_transport"] += 1
                connection.close()
                connection = _Connection(port, token)
                continue
            if status != 200:
                report.errors[f"events_{status}"] += 1
            elif json.loads(body)["accepted"] != EVENTS_PER_REQUEST:
                report.errors["events_not_accepted"] += 1
            else:
                report.answered += 1
                report.latencies.append(time.perf_counter() - started)
    finally:
        connection.close()


async def _change_flags(
    http: httpx.AsyncClient, token: str, plan: LoadPlan, report: LoadReport
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    count = int(plan.seconds * plan.changes_per_second)
    started = time.perf_counter()
    for number in range(count):
        # On a schedule, as the events are: sleeping a second after each
        # answer would drift by the answers' latency.
        delay = started + number / plan.changes_per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        action = "enable" if number % 2 == 0 else "disable"
        try:
            answer = await http.post(
                f"/api/v1/flags/load_flag/{action}", headers=headers
            )
            if answer.status_code == 200:
                report.changes += 1
            else:
                report.errors[f"change_{answer.status_code}"] += 1
        except httpx.HTTPError as exc:
            report.errors[f"change_{type(exc).__name__}"] += 1


async def _watch_memory(
    pid: int | None, report: LoadReport, stop: asyncio.Event
) -> None:
    started = time.perf_counter()
    while pid is not None and not stop.is_set():
        kib = tree_rss_kib(pid)
        if kib is not None:
            report.rss_kib.append((time.perf_counter() - started, kib))
        await asyncio.sleep(0.5)


async def run_load(
    base_url: str,
    tokens: dict[str, str],
    plan: LoadPlan,
    *,
    server_pid: int | None = None,
) -> LoadReport:
    """Run `plan` against the server at `base_url` (whose store holds the flag
    `load_flag`; `tokens` has `sdk` and `engineer`)."""
    port = int(base_url.rsplit(":", 1)[1])
    report = LoadReport()
    stop = asyncio.Event()
    streams = [_Stream() for _ in range(plan.clients)]
    readers = []
    for index, stream in enumerate(streams):
        readers.append(
            asyncio.create_task(_stream(port, tokens["sdk"], stream, stop, report))
        )
        if index % 50 == 49:
            await asyncio.sleep(0.02)  # do not flood the accept queue
    waits = [s.snapshot.wait() for s in streams]
    try:
        await asyncio.wait_for(asyncio.gather(*waits), 120)
    except TimeoutError:
        report.errors["snapshot_timeout"] += 1
    report.clients_connected = sum(s.snapshot.is_set() for s in streams)
    memory = asyncio.create_task(_watch_memory(server_pid, report, stop))
    due: asyncio.Queue[int | None] = asyncio.Queue()
    workers = [
        asyncio.create_task(
            _event_worker(
                port, tokens["sdk"], due, report, _body_template(plan.exposure_flag)
            )
        )
        for _ in range(plan.connections)
    ]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        changer = asyncio.create_task(
            _change_flags(http, tokens["engineer"], plan, report)
        )
        started = time.perf_counter()
        total = int(plan.seconds * plan.requests_per_second)
        for number in range(total):
            delay = started + number / plan.requests_per_second - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if due.qsize() >= plan.max_backlog:
                report.late += 1  # the server is behind: dropped, not queued
                continue
            report.sent += 1
            due.put_nowait(number)
        for _ in workers:
            due.put_nowait(None)
        await asyncio.wait_for(asyncio.gather(*workers), 60)
        # The events' time ends at their last answer; the flag changes, one
        # a second, may end a little later and are not part of the rate.
        report.elapsed = time.perf_counter() - started
        await asyncio.wait_for(changer, 60)
    await _all_changes_seen(streams, report)
    stop.set()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, memory, return_exceptions=True)
    return report


async def _all_changes_seen(streams: list[_Stream], report: LoadReport) -> None:
    """Every client sees every change once, in order (given 30 s to catch up)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(len(s.versions) >= report.changes for s in streams):
            break
        await asyncio.sleep(0.05)
    expected: list[int] | None = None
    for stream in streams:
        versions = stream.versions
        if len(versions) != report.changes or versions != sorted(set(versions)):
            report.errors["stream_changes"] += 1
        elif expected is None:
            expected = versions
        elif versions != expected:
            report.errors["stream_changes"] += 1
