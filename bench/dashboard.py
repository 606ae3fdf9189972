"""Benchmark: dashboard time to first byte with 100 runs and 200 flags.

    .venv/bin/python bench/dashboard.py            # 200 requests per page
    .venv/bin/python bench/dashboard.py --quick    # 20

The app is `create_app` on SQLite under uvicorn in a thread of this process,
logged in with an engineer's session cookie. The runs are real: 100 runs of
the UAE plan started through the engine's `RunService` on the store's runs
tables (`store.runs`), each on its own flag, moved by the controller
(healthy guards) a tick and eight days on, so the pages read the runs
repository (rows, event logs, incidents) as a server does. The baseline in
the same run is the dashboard on the tests' fake run service
(`tests/server/dashboard/fake_runs.py`: 100 copies of one run in memory), the
dashboard's own cost without the repository's reads. Each page is asked in
turn, one request at a time on one connection; the table gives the median and
p95 of the time to the answer's first byte.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.engine.run_support import healthy
from tests.server.dashboard.fake_runs import RUN, FakeRuns

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.engine.controller import Controller
from flagramp.engine.service import RunService
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.store import Author, SqlFlagStore
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from flagramp.store.windows import WindowStore

RUNS = 100
FLAGS = 200
SETUP = Author("bench")
PLAN = (
    Path(__file__).resolve().parents[1]
    / "examples"
    / "uae-appointments-dark-deploy.yaml"
)
ENG_LEAD = "uae-eng-lead@va.gov"
PLAN_FLAG = "va_online_scheduling_uae_oracle_health"


def _store(directory: Path) -> SqlFlagStore:
    store = SqlFlagStore.open(f"sqlite:///{directory / 'flagramp.db'}")
    with store.unit_of_work(SETUP) as unit:
        for env in ("production", "staging"):
            unit.record(env, "environment", env, "create", None, {"name": env})
    for i in range(FLAGS):
        for env in ("production", "staging"):
            store.create_flag(Flag(key=f"flag_{i:03d}"), SETUP, env)
    for i in range(0, FLAGS, 3):
        store.change_flag(f"flag_{i:03d}", ops.enable, SETUP, "production", "enable")
    return store


def _runs(store: SqlFlagStore) -> FakeRuns:
    runs = FakeRuns(store)
    template = runs.rows.pop(RUN)
    events = runs.events.pop(RUN)
    for i in range(1, RUNS + 1):
        run = f"R{i}"
        runs.rows[run] = replace(template, id=run)
        runs.events[run] = list(events)
        runs.incidents[run] = []
    return runs


def _serve(app: object) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def _ttfb(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    with client.stream("GET", path) as answer:
        chunks = answer.iter_raw()
        next(chunks)
        first = time.perf_counter() - start
        for _ in chunks:
            pass
        assert answer.status_code == 200, (path, answer.status_code)
    return first


def _real_runs(app: object, store: SqlFlagStore, clock: VirtualClock) -> str:
    """100 runs through the engine; what they are doing, in words."""
    service = app.state.flagramp.runs  # type: ignore[attr-defined]
    assert isinstance(service, RunService)
    text = PLAN.read_text()
    for i in range(RUNS):
        # A flag per run: runs sharing a flag would see each other's moves as
        # outside changes and pause.
        own = text.replace(PLAN_FLAG, f"{PLAN_FLAG}_{i:03d}")
        service.start(own, person=ENG_LEAD)
    controller = Controller(
        store, WindowStore(store.engine), clock, evaluate=healthy, send=None
    )
    controller.tick()
    clock.advance(dt.timedelta(days=8))
    controller.tick()
    statuses = collections.Counter(r.status for r in service.list())
    events = sum(len(service.log(r.id)) for r in service.list())
    shown = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    return f"{shown}; {events} log events"


def _measure(real: bool, requests: int) -> tuple[dict[str, list[float]], str]:
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(Path(tmp))
        token = (
            TokenStore(store)
            .issue(
                owner="eng@example.org",
                owner_kind=OwnerKind.PERSON,
                permission=Permission.ENGINEER,
                author=SETUP,
            )
            .token
        )
        clock = VirtualClock()
        settings = ServerSettings(session_key="bench key, long enough")
        if real:
            app = create_app(settings, store=store, clock=clock)
            what = _real_runs(app, store, clock)
        else:
            app = create_app(settings, store=store, clock=clock, runs=_runs(store))
            what = f"{RUNS} copies of one run in memory"
        url, server, thread = _serve(app)
        try:
            with httpx.Client(base_url=url) as client:
                page = client.get("/dashboard/login").text
                nonce = re.search(r'name="csrf_token" value="([^"]+)"', page)
                assert nonce is not None
                client.post(
                    "/dashboard/login",
                    data={"csrf_token": nonce.group(1), "token": token},
                )
                pages = {
                    f"runs list ({RUNS} runs)": "/dashboard/runs",
                    "run page": f"/dashboard/runs/R{RUNS // 2}",
                    "run guards.json": f"/dashboard/runs/R{RUNS // 2}/guards.json",
                    f"flags list ({FLAGS} flags x 2 envs)": "/dashboard/flags",
                    "flag page": "/dashboard/flags/flag_000",
                }
                times: dict[str, list[float]] = {name: [] for name in pages}
                for path in pages.values():
                    _ttfb(client, path)  # warm the plan cache and templates
                for _ in range(requests):
                    for name, path in pages.items():
                        times[name].append(_ttfb(client, path))
        finally:
            server.should_exit = True
            thread.join()
    return times, what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    requests = 20 if parser.parse_args().quick else 200
    results = {kind: _measure(kind == "store", requests) for kind in ("store", "fake")}
    for kind, (_, what) in results.items():
        print(f"{kind}: {what}")
    print(
        "| page | store median TTFB (ms) | store p95 (ms) "
        "| baseline (fake runs) median (ms) | baseline p95 (ms) | requests |\n"
        "|---|---|---|---|---|---|"
    )
    store, fake = results["store"][0], results["fake"][0]
    for name, values in store.items():
        base = fake[name]
        print(
            f"| {name} | {_median(values):.1f} | {_p95(values):.1f} "
            f"| {_median(base):.1f} | {_p95(base):.1f} | {len(values)} |"
        )


def _median(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] * 1000


if __name__ == "__main__":
    main()
