"""Benchmark: a go-live checkpoint over one month at 2,000 requests/minute.

    .venv/bin/python bench/checkpoints.py            # 30 days
    .venv/bin/python bench/checkpoints.py --days 3   # a quick look

The plan is the VAOS example (`examples/vaos-service-integration.yaml`); the world
`flagramp.sim.examples.vaos_world` at 2,000 requests/minute (1,000,000 users), all
four toggles at 100 % after go live. The traffic is simulated in the fast mode
(`span_aggregate`, one hour at a time) and turned into one ingest scope's hour
windows (`flagramp.cli.sim_windows.ScopeWindows`): the windows a real ingest
would hold after minutes compact into hours, without building 86 million events.

Measured, each step on its own:

1. the hour windows written to SQLite (`WindowStore.add_batch`, one batch an hour)
   and the file's size;
2. `WindowStore.compact` of every whole day before the last into day windows,
   then VACUUM, and the file's size (what a month costs the store);
3. one hour of minute windows, for the size a month of uncompacted minutes would
   take (extrapolated);
4. the 1-week and the 1-month checkpoint: reading the windows back from the store
   and `compute_checkpoint` (best of 3), from day windows and from hour windows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from flagramp.cli.sim_windows import ScopeWindows
from flagramp.core.plans import load_plan
from flagramp.engine.checkpoints import compute_checkpoint
from flagramp.engine.compile import metric_specs
from flagramp.sim import FlagState, epoch_minute, span_aggregate
from flagramp.sim.examples import VAOS_FLAGS, vaos_world
from flagramp.stats.windows import DAY, HOUR, Window, to_bytes
from flagramp.store.windows import WindowStore

SEED = 20261201
START = epoch_minute(dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
PLAN = (
    Path(__file__).resolve().parents[1] / "examples" / "vaos-service-integration.yaml"
)
RUN = "bench-run/go-live"
FLAG = VAOS_FLAGS[-1][0]


def best(fn: object, runs: int = 3) -> tuple[float, object]:
    """The best wall time of `runs` calls of `fn`, and its last result."""
    assert callable(fn)
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def db_size(path: Path) -> int:
    """The database's bytes once its write-ahead log is folded in."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rpm", type=float, default=2000.0)
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    plan = load_plan(PLAN.read_text(), PLAN.name).plan
    assert plan.go_live is not None
    world = vaos_world(users=args.users, requests_per_minute=args.rpm)
    states = tuple(FlagState(f, 100.0) for f, _ in VAOS_FLAGS)
    specs = metric_specs(plan.metrics)
    scope = ScopeWindows(RUN, FLAG, specs)
    hours = args.days * 24
    windows: list[Window] = []
    requests = calls = 0.0
    t = time.perf_counter()
    for h in range(hours):
        a = START + h * HOUR
        agg = span_aggregate(SEED, world, a, a + HOUR, states, report=(FLAG,))
        req = [i for i, c in enumerate(agg.channels) if c.is_request]
        requests += float(agg.flags[FLAG].counts[:, req].sum())
        calls += float(agg.environment.sum())
        windows += scope.add(agg)
    simulate = time.perf_counter() - t
    print(
        f"simulated {args.days} days: {requests:,.0f} requests "
        f"({requests / (hours * 60):,.0f}/min), {len(windows)} hour windows, "
        f"{simulate:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "windows.db"
        store = WindowStore.open(f"sqlite:///{path}")
        t = time.perf_counter()
        for h in range(hours):
            a = START + h * HOUR
            batch = [w for w in windows if w.key.start == a]
            store.add_batch(RUN, f"hour-{h}", batch)
        write = time.perf_counter() - t
        store.engine.dispose()
        hour_size = db_size(path)
        print(f"write hour windows: {write:.2f} s; file {hour_size / 1e6:.3f} MB")

        def read_and_compute(days: int, checkpoint: int) -> object:
            end = START + days * DAY
            got = store.windows(RUN, FLAG, start=START, end=end)
            return compute_checkpoint(
                plan,
                plan.go_live.checkpoints[checkpoint],  # type: ignore[union-attr]
                {FLAG: got},
                START,
                end,
                environment_counts={"contact_center_calls": calls},
            )

        week = min(7, args.days)
        hour_week, _ = best(lambda: read_and_compute(week, 0))
        hour_month, _ = best(lambda: read_and_compute(args.days, 1))
        print(f"checkpoint from hours: 1w {hour_week:.2f} s, 1mo {hour_month:.2f} s")

        t = time.perf_counter()
        replaced = store.compact(RUN, FLAG, DAY, START + (args.days - 1) * DAY)
        compact = time.perf_counter() - t
        store.engine.dispose()
        with sqlite3.connect(path) as conn:
            conn.execute("VACUUM")
        day_size = db_size(path)
        rows = len(store.windows(RUN, FLAG))
        print(
            f"compact {replaced} hour rows into days: {compact:.2f} s; "
            f"{rows} rows left; file {day_size / 1e6:.3f} MB"
        )
        day_week, _ = best(lambda: read_and_compute(week, 0))
        day_month, result = best(lambda: read_and_compute(args.days, 1))
        print(f"checkpoint from days: 1w {day_week:.2f} s, 1mo {day_month:.2f} s")
        store.engine.dispose()
    minute_scope = ScopeWindows("minutes", FLAG, specs)
    minute_bytes = 0
    t = time.perf_counter()
    for m in range(60):
        agg = span_aggregate(
            SEED, world, START + 600 + m, START + 601 + m, states, report=(FLAG,)
        )
        minute_bytes += sum(len(to_bytes(w)) for w in minute_scope.add(agg))
    print(
        f"one hour of minute windows: {minute_bytes / 1e6:.2f} MB serialised "
        f"(x {hours} hours = {minute_bytes * hours / 1e9:.2f} GB uncompacted); "
        f"{time.perf_counter() - t:.1f} s"
    )
    kpis = {k.name: (k.actual.value, k.status.value) for k in result.kpis}  # type: ignore[attr-defined]
    print(f"1-month KPIs: {kpis}; unique users {result.unique_users:,}")  # type: ignore[attr-defined]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
