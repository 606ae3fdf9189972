"""Benchmark: flagramp on Flipper's own tables.

    .venv/bin/python bench/flipper_tables.py                  # full (~3 min)
    .venv/bin/python bench/flipper_tables.py --quick          # a smoke test
    .venv/bin/python bench/flipper_tables.py --backends sqlite,postgres,mariadb

(1) SDK-like evaluation with Flipper's tables as the store vs flagramp's own.
    Both stores hold the same flags (a kill switch, 25 % of actors, eligibility
    + 25 %, 1,000 allow-listed + 200 denied + 25 %, and 496 more at 5 %). A
    client reads them into a snapshot (`list_flags` + `segments`, compiled) and
    then checks 10,000 actors against four of them; passes over the two
    snapshots are interleaved, and the figure is the median ns per check. Every
    SQL statement on every engine during the checks is counted: there must be
    none (the snapshot is read on change, never per check).

(2) Changes made outside: 500 features in Flipper's tables, the store's sync
    round every second (`start()`), an outside writer updating one feature's row
    at a random moment; the time until `changes_since` (polled every 20 ms, as a
    streaming consumer would) shows the change: p50 and p99. Baseline in the same
    run: the cost of one quiet round (the fingerprint: two aggregates the
    database computes) against reading every row of both tables, and against
    reading and comparing every row with flagramp's flags, which is what a
    watcher without the fingerprint would do every second.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Evaluator, Flag, Percentage, Segment
from flagramp.store import Author, FlipperTablesStore, SqlFlagStore
from flagramp.store.flipper.sync import record_outside
from flagramp.store.flipper.writes import read_features

SEED = 20261201
N_ACTORS = 10_000
ALICE = Author("bench")
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306"
STAMP = "'2026-12-01 10:00:00'"

# --- databases -----------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path, name: str) -> Iterator[str]:
    """A fresh database (SQLite file, PostgreSQL schema, MariaDB database)."""
    tag = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        yield f"sqlite:///{workdir / (tag + '.db')}"
        return
    admin = sa.create_engine(POSTGRES if backend == "postgres" else MARIADB + "/test")
    create, drop, url = (
        (
            f'CREATE SCHEMA "{tag}"',
            f'DROP SCHEMA "{tag}" CASCADE',
            f"{POSTGRES}?options=-csearch_path%3D{tag}",
        )
        if backend == "postgres"
        else (f"CREATE DATABASE `{tag}`", f"DROP DATABASE `{tag}`", f"{MARIADB}/{tag}")
    )
    with admin.begin() as conn:
        conn.exec_driver_sql(create)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(drop)
        admin.dispose()


def flipper_tables(url: str) -> None:
    """Flipper 1.x's tables (value text), as ActiveRecord's migration makes them."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.store.flipper.tables import create_flipper_tables

    create_flipper_tables(url, "text")


# --- (1) evaluation ------------------------------------------------------------


def actors(n: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        fid = (
            f"User;{rng.randrange(10**9)}"
            if i % 2
            else f"p{rng.randrange(10**7)}@va.gov"
        )
        out.append((fid, {"ehr": "oracle" if i % 2 == 0 else "vista"}))
    return out


def bench_flags(pairs: list[tuple[str, dict[str, Any]]]) -> list[Flag]:
    pct = Percentage.parse("25")
    ids = [fid for fid, _ in pairs]
    flags = [
        Flag("kill_switch", boolean=True),
        Flag("new_checkout", percentage_of_actors=pct),
        Flag("oracle_scheduling", percentage_of_actors=pct, eligibility="oracle"),
        Flag(
            "beta_portal",
            actors=tuple(ids[:1000]),
            denied_actors=tuple(ids[1000:1200]),
            percentage_of_actors=pct,
        ),
    ]
    five = Percentage.parse("5")
    flags += [Flag(f"feature_{i:03}", percentage_of_actors=five) for i in range(496)]
    return flags


def snapshot(store: SqlFlagStore) -> dict[str, Callable[..., bool]]:
    evaluator = Evaluator(store.segments(), VirtualClock(), random.Random(1).random)
    return {f.key: evaluator.compile(f).is_enabled for f in store.list_flags()}


def time_pass(checks: list[Callable[..., bool]], pairs: list[tuple[str, Any]]) -> float:
    start = time.perf_counter_ns()
    for check in checks:
        for fid, props in pairs:
            check(fid, props)
    return (time.perf_counter_ns() - start) / (len(checks) * len(pairs))


@contextmanager
def counting(*engines: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_c: object, _cur: object, sql: str, *_: object) -> None:
        seen.append(sql)

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", count)


def evaluation(workdir: Path, rounds: int) -> None:
    pairs = actors(N_ACTORS, SEED)
    flags = bench_flags(pairs)
    oracle = Segment.from_rules("oracle", ["ehr == oracle"])
    with (
        database("sqlite", workdir, "own") as own_url,
        database("sqlite", workdir, "fr") as fr_url,
        database("sqlite", workdir, "rails") as rails_url,
    ):
        own = SqlFlagStore.open(own_url)
        flipper_tables(rails_url)
        fl = FlipperTablesStore.open("flipper+" + rails_url, fr_url)
        for store in (own, fl):
            store.put_segment(oracle, ALICE)
            store.put_flags(flags, ALICE)
        loads: dict[str, list[float]] = {"own": [], "flipper": []}
        snaps: dict[str, dict[str, Callable[..., bool]]] = {}
        for _ in range(5):
            for name, store in (("own", own), ("flipper", fl)):
                start = time.perf_counter()
                snaps[name] = snapshot(store)
                loads[name].append((time.perf_counter() - start) * 1000)
        keys = ["kill_switch", "new_checkout", "oracle_scheduling", "beta_portal"]
        per: dict[str, dict[str, list[float]]] = {
            k: {"own": [], "flipper": []} for k in keys
        }
        for name in ("own", "flipper"):  # warm up both before timing either
            time_pass([snaps[name][k] for k in keys], pairs)
        # Short passes (1,000 actors), many rounds, the order alternating (ABBA):
        # on a shared machine a burst of load then hits both stores alike, and
        # the medians leave the bursts out.
        chunks = [pairs[i : i + 1_000] for i in range(0, len(pairs), 1_000)]
        with counting(own.engine, fl.engine, fl.flipper.engine) as statements:
            for n in range(rounds):
                order = ("own", "flipper") if n % 2 == 0 else ("flipper", "own")
                chunk = chunks[n % len(chunks)]
                for key in keys:
                    for name in order:
                        per[key][name].append(time_pass([snaps[name][key]], chunk))
        print(
            f"(1) SDK-like evaluation: {len(flags)} flags, {N_ACTORS:,} actors, "
            f"{rounds} interleaved passes of 1,000 checks per flag and store "
            "(median ns per check)"
        )
        print("| flag | flagramp's own tables | Flipper's tables | ratio |")
        print("|---|---|---|---|")
        ratios = []
        for key in keys:
            a = statistics.median(per[key]["own"])
            b = statistics.median(per[key]["flipper"])
            ratios.append(b / a)
            print(f"| {key} | {a:.0f} | {b:.0f} | {b / a:.3f} |")
        print(f"worst ratio {max(ratios):.3f} (target <= 1.15)")
        checks = rounds * len(keys) * 2 * len(chunks[0])
        print(f"SQL statements during {checks:,} checks: {len(statements)}")
        print(
            "snapshot load (list_flags + segments + compile, median of 5): "
            f"own {statistics.median(loads['own']):.1f} ms, "
            f"Flipper's tables {statistics.median(loads['flipper']):.1f} ms"
        )
        own.engine.dispose()
        fl.close()


# --- (2) outside changes --------------------------------------------------------


def outside_changes(workdir: Path, backend: str, changes: int) -> None:
    with (
        database(backend, workdir, "fr") as fr_url,
        database(backend, workdir, "rails") as rails_url,
    ):
        flipper_tables(rails_url)
        engine = sa.create_engine(rails_url)
        key = "`key`" if backend == "mariadb" else '"key"'
        with engine.begin() as conn:
            for i in range(500):
                conn.exec_driver_sql(
                    f"INSERT INTO flipper_features ({key}, created_at, updated_at) "
                    f"VALUES ('feature_{i:03}', {STAMP}, {STAMP})"
                )
                for actor in ("User;1", "User;2"):
                    conn.exec_driver_sql(
                        f"INSERT INTO flipper_gates (feature_key, {key}, value, "
                        f"created_at, updated_at) VALUES ('feature_{i:03}', "
                        f"'actors', '{actor}', {STAMP}, {STAMP})"
                    )
                conn.exec_driver_sql(
                    f"INSERT INTO flipper_gates (feature_key, {key}, value, "
                    f"created_at, updated_at) VALUES ('feature_{i:03}', "
                    f"'percentage_of_actors', '5', {STAMP}, {STAMP})"
                )
        store = FlipperTablesStore.open("flipper+" + rails_url, fr_url)
        quiet, rows, full = [], [], []
        for _ in range(20):
            start = time.perf_counter()
            store.sync()
            quiet.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            with store.flipper.engine.connect() as conn:
                read_features(conn, store.flipper.tables)
            rows.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            record_outside(store, None)  # every row read and compared
            full.append((time.perf_counter() - start) * 1000)
        rng = random.Random(SEED)
        waits = []
        store.start(interval=1.0)
        try:
            for n in range(changes):
                time.sleep(rng.uniform(0.0, 1.0))
                version = store.version()
                target = f"feature_{rng.randrange(500):03}"
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        f"UPDATE flipper_gates SET value = '{6 + n % 90}' WHERE "
                        f"feature_key = '{target}' AND {key} = 'percentage_of_actors'"
                    )
                changed = time.perf_counter()
                while not any(c.key == target for c in store.changes_since(version)):
                    time.sleep(0.02)
                    if time.perf_counter() - changed > 30:
                        raise SystemExit(f"{target}: not seen in 30 s")
                waits.append(time.perf_counter() - changed)
        finally:
            store.stop()
        waits.sort()
        p99 = waits[min(len(waits) - 1, round(0.99 * (len(waits) - 1)))]
        q, r, f = (statistics.median(x) for x in (quiet, rows, full))
        print(
            f"| {backend} | {changes} | {statistics.median(waits):.2f} | {p99:.2f} | "
            f"{max(waits):.2f} | {q:.2f} | {r:.2f} | {f:.2f} | {f / q:.1f}x |"
        )
        store.close()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()
    rounds, changes = (20, 5) if args.quick else (200, 60)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        evaluation(workdir, rounds)
        print()
        print(
            "(2) outside change -> change feed, 500 features, sync round every 1 s "
            "(seconds); one quiet round vs reading (and comparing) every row "
            "(ms, median of 20)"
        )
        print(
            "| backend | changes | p50 s | p99 s | max s | quiet round ms | "
            "read every row ms | read and compare every row ms | compare / quiet |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for backend in args.backends.split(","):
            outside_changes(workdir, backend, changes)
    print(f"\nelapsed {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
