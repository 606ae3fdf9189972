"""Benchmark: SSE clients, events and flag changes against one server on loopback.

    .venv/bin/python bench/load.py                      # 1,000 clients, 2,000 rps, 60 s
    .venv/bin/python bench/load.py --postgres URL       # the same on PostgreSQL
    .venv/bin/python bench/load.py --clients 100 --rps 200 --seconds 10   # the suite's
    .venv/bin/python bench/load.py --workers 2          # `flagramp serve --workers 2`
    .venv/bin/python bench/load.py --watched            # a run's scope takes the events

The server is `flagramp serve` (one uvicorn worker, or `--workers N`) in its
own process, on SQLite or, with `--postgres URL` (a database this run may
fill), PostgreSQL.
The load comes from tests/server/load_driver.py, the same driver the suite's
small version (tests/server/test_load.py) uses: N stream clients, events at a
paced rate over a few kept-alive connections (10 events a request, each batch
key new), and one flag change a second that every client must see exactly once,
in order. A request that would push the backlog past 500 is dropped and counted
`late`; the run reports errors by kind, answered requests per second, latency
p50/p99 and the server's resident memory over the run. It exits 1 on any error.

The open-file limit is raised to what the clients need. Bounded: the run lasts
`--seconds`, and every wait has a time-out.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.server.live_server import serve_process  # noqa: E402
from tests.server.load_driver import (  # noqa: E402
    EVENTS_PER_REQUEST,
    LoadPlan,
    counted_exposures,
    raise_open_files,
    run_load,
    start_watching_run,
)

from flagramp.core.flags import Flag  # noqa: E402
from flagramp.store import Author, SqlFlagStore  # noqa: E402
from flagramp.store.tokens import OwnerKind, Permission, TokenStore  # noqa: E402


def prepare(url: str, *, watched: bool = False) -> dict[str, str]:
    """The flag the load changes, and an SDK and an engineer token; with
    `watched`, a run in its first stage whose scope takes every event."""
    store = SqlFlagStore.open(url)
    setup = Author("bench")
    store.create_flag(Flag(key="load_flag"), setup)
    if watched:
        start_watching_run(store)
    tokens = TokenStore(store)
    issued = {
        "engineer": tokens.issue(
            owner="bench@example.org",
            owner_kind=OwnerKind.PERSON,
            permission=Permission.ENGINEER,
            author=setup,
        ).token,
        "sdk": tokens.issue(
            owner="bench-app",
            owner_kind=OwnerKind.SERVICE,
            permission=Permission.SDK,
            environment="production",
            author=setup,
        ).token,
    }
    store.engine.dispose()
    return issued


def load_average() -> str:
    """The machine's 1/5/15-minute load averages, as `uptime` shows them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--rps", type=float, default=2_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL URL")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument(
        "--watched",
        action="store_true",
        help="a run in its first stage takes every event into its scope",
    )
    args = parser.parse_args()
    limit = raise_open_files(4 * args.clients + 256)
    plan = LoadPlan(
        clients=args.clients,
        requests_per_second=args.rps,
        seconds=args.seconds,
        connections=args.connections,
        exposure_flag="watched_flag" if args.watched else "load_flag",
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = args.postgres or f"sqlite:///{workdir / 'flagramp.db'}"
        os.environ.setdefault("FLAGRAMP_AUDIT_KEY_FILE", str(workdir / "audit-key"))
        tokens = prepare(url, watched=args.watched)
        backend = "PostgreSQL" if args.postgres else "SQLite"
        workers = (
            "one uvicorn worker"
            if args.workers == 1
            else f"{args.workers} uvicorn workers"
        )
        watching = "events into a run's scope" if args.watched else "no run watching"
        print(
            f"load: {plan.clients:,} stream clients, {plan.requests_per_second:,.0f} "
            f"event requests/s over {plan.connections} connections, "
            f"{plan.seconds:.0f} s; {backend}; {workers}; "
            f"{watching}; "
            f"open-file limit {limit}; load average {load_average()}"
        )
        with serve_process(url, workdir, workers=args.workers) as (base, process):
            # uvloop, as the server: the driver shares the cores it measures.
            report = uvloop.run(run_load(base, tokens, plan, server_pid=process.pid))
        counted = counted_exposures(url) if args.watched else None
    print(report.summary())
    lost = False
    if counted is not None:
        sent = report.answered * EVENTS_PER_REQUEST // 2
        lost = counted != sent
        print(
            f"the run's scope counted {counted:,} exposure events; the answered "
            f"requests carried {sent:,}" + (" (MISMATCH)" if lost else " (equal)")
        )
    print(f"load average at the end: {load_average()}")
    rss = [kib for _, kib in report.rss_kib]
    whose = " (the supervisor and its workers)" if args.workers > 1 else ""
    if rss:
        print(
            f"server RSS{whose}: start {rss[0] / 1024:.0f} MiB, "
            f"max {max(rss) / 1024:.0f} MiB, end {rss[-1] / 1024:.0f} MiB; "
            "growth after 10 s "
            f"{report.rss_growth_kib(warmup=10.0) / 1024:.1f} MiB"
        )
    return 1 if report.error_count or lost else 0


if __name__ == "__main__":
    sys.exit(main())
