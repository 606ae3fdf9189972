"""Benchmark: one `/metrics` scrape's run totals on a 50,000-entry run log.

    .venv/bin/python bench/guard_metrics.py            # 50,000 stage_left entries
    .venv/bin/python bench/guard_metrics.py --quick    # 5,000, a smoke test

The log is written straight into the tables (SQLite): 500 runs, each with its
share of `stage_left` entries of three criteria, a few `guard_harmful` ones and
a rollback. Then `RunTotalsCollector.collect()` is timed: the first scrape (it
counts everything), the next scrapes with nothing new, and scrapes after 10
new entries were appended. Median of the repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from flagramp.server.run_metrics import RunTotalsCollector
from flagramp.store import SqlFlagStore
from flagramp.store.run_tables import run_events, runs

RUNS = 500
STAMP = "2026-11-23T10:00:00.000000+00:00"
GUARDS = json.dumps(
    {
        "decision": "passed",
        "phase": 0,
        "stage": 0,
        "guards": [
            {"criterion": "errors", "mode": "rollback", "decision": "healthy"},
            {"criterion": "abandonment", "mode": "pause", "decision": "inconclusive"},
            {"criterion": "latency", "mode": "observe", "decision": "healthy"},
        ],
    },
    separators=(",", ":"),
)
HARM = '{"action":"pause","decision":{"mode":"pause"}}'


def fill(store: SqlFlagStore, entries: int) -> dict[str, int]:
    """Write `entries` stage_left entries over RUNS runs; answers each run's
    last seq."""
    last: dict[str, int] = {}
    rows: list[dict[str, object]] = []
    for n in range(entries):
        run = f"R{n % RUNS + 1}"
        seq = last.get(run, 0) + 1
        last[run] = seq
        kind, data = ("guard_harmful", HARM) if n % 50 == 0 else ("stage_left", GUARDS)
        rows.append(_entry(run, seq, kind, data))
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(runs),
            [
                {
                    "id": run,
                    "plan_name": "bench",
                    "environment": "production",
                    "plan_text": "{}",
                    "plan_hash": "0" * 64,
                    "plan_version": 1,
                    "status": "running",
                    "state": "{}",
                    "observe": False,
                    "version": seq,
                    "watched_version": 1,
                    "created_by": "bench",
                    "created_at": STAMP,
                    "updated_at": STAMP,
                }
                for run, seq in last.items()
            ],
        )
        for start in range(0, len(rows), 5_000):
            conn.execute(sa.insert(run_events), rows[start : start + 5_000])
    return last


def _entry(run: str, seq: int, kind: str, data: str) -> dict[str, object]:
    return {
        "run": run,
        "seq": seq,
        "at": STAMP,
        "kind": kind,
        "actor": None,
        "data": data,
        "store_version": 1,
    }


def time_scrape(collector: RunTotalsCollector) -> float:
    started = time.perf_counter()
    for _ in collector.collect():
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    entries = 5_000 if args.quick else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlFlagStore.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        last = fill(store, entries)
        collector = RunTotalsCollector(store.engine)
        first = time_scrape(collector)
        idle = [time_scrape(collector) for _ in range(args.repeats)]
        grown = []
        for _ in range(args.repeats):
            with store.engine.begin() as conn:
                new = []
                for n in range(10):
                    run = f"R{n + 1}"
                    last[run] += 1
                    new.append(_entry(run, last[run], "stage_left", GUARDS))
                conn.execute(sa.insert(run_events), new)
            grown.append(time_scrape(collector))
        store.engine.dispose()
    print(f"{entries:,} entries over {RUNS} runs (SQLite)")
    print(f"  first scrape               {first * 1000:8.1f} ms")
    print(f"  scrape, nothing new        {statistics.median(idle) * 1000:8.1f} ms")
    print(f"  scrape after 10 new        {statistics.median(grown) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
