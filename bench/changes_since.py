"""Benchmark: the change feed on a 100,000-row audit log, index range vs scan.

    .venv/bin/python bench/changes_since.py            # 100,000 rows (~1 min)
    .venv/bin/python bench/changes_since.py --quick    # 10,000 rows, a smoke test

The log is written straight into the table (10 rows per store version, spread
over 5 environments), then three reads that SSE resumption, SDK catch-up and a
running plan make are timed, each against two baselines in the same run:

  feed      `store.changes_since(v, environment=…, limit=…)` (index range read);
  scan      the same rows picked from `store.audit_entries()` in Python, which is
            what a consumer could do before there was a feed;
  SQL       the feed's range query alone (rows, no documents parsed), with the
            index and with the index ignored (SQLite `NOT INDEXED`).

Reads: the newest 20 rows (a client one version behind), 1,000 rows from the
middle of the log, and one environment's newest 20 rows. Median of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from flagramp.store import SqlFlagStore
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.tables import audit_log, store_meta

ROWS_PER_VERSION = 10
ENVIRONMENTS = ("production", "staging", "dev", "int", "qa")


def fill(store: SqlFlagStore, rows: int) -> int:
    """Write `rows` audit rows; returns the newest version."""
    batch: list[dict[str, object]] = []
    versions = rows // ROWS_PER_VERSION
    doc = '{"gates":{"boolean":null},"key":"f"}'
    with store.engine.begin() as conn:
        for n in range(rows):
            version = n // ROWS_PER_VERSION + 1
            batch.append(
                {
                    "at": "2026-11-23T10:00:00.000000+00:00",
                    "actor": "bench",
                    "reason": "",
                    "environment": ENVIRONMENTS[version % len(ENVIRONMENTS)],
                    "entity_kind": "flag",
                    "entity_key": f"flag_{n % 500}",
                    "action": "update",
                    "before": doc,
                    "after": doc,
                    "store_version": version,
                    "key_id": "0" * 16,
                    "prev_hash": "0" * 64,
                    "hash": "0" * 64,
                }
            )
            if len(batch) == 5_000:
                conn.execute(audit_log.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(audit_log.insert(), batch)
        conn.execute(
            sa.update(store_meta)
            .where(store_meta.c.key == "version")
            .values(int_value=versions)
        )
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE audit_log")
    return versions


def median_ms(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def raw_read(
    store: SqlFlagStore, after: int, environment: str | None, limit: int, hint: str
) -> int:
    where = f"store_version > {after}"
    if environment is not None:
        where += f" AND environment = '{environment}'"
    sql = (
        f"SELECT * FROM audit_log {hint} WHERE {where} "
        f"ORDER BY store_version, id LIMIT {limit}"
    )
    with store.engine.connect() as conn:
        return len(conn.exec_driver_sql(sql).all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--url", help="another database (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    rows = 10_000 if args.quick else 100_000
    repeats = 5 if args.quick else 15
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'feed.db'}"
        store = SqlFlagStore.open(url, keyring=AuditKeyring.generate())
        started = time.perf_counter()
        newest = fill(store, rows)
        print(
            f"{store.engine.dialect.name}: {rows:,} audit rows, {newest:,} versions, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        reads = [
            ("newest 20 rows", newest - 2, None, 1_000),
            ("1,000 rows mid-log", newest // 2, None, 1_000),
            ("one environment, newest", newest - 10, "staging", 1_000),
        ]
        print(
            "| read | rows | feed ms | scan ms | scan/feed "
            "| SQL indexed ms | SQL no index ms | ratio |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, after, environment, limit in reads:
            feed_ms, found = median_ms(
                lambda a=after, e=environment, lim=limit: store.changes_since(
                    a, environment=e, limit=lim
                ),
                repeats,
            )

            def scan(
                a: int = after, e: str | None = environment, lim: int = limit
            ) -> list[object]:
                picked = [
                    entry
                    for entry in store.audit_entries()
                    if entry.store_version > a and (e is None or entry.environment == e)
                ]
                return picked[:lim]

            scan_ms, scanned = median_ms(scan, max(3, repeats // 5))
            assert isinstance(found, list) and isinstance(scanned, list)
            assert len(found) == len(scanned), (len(found), len(scanned))
            if store.engine.dialect.name == "sqlite":
                sql_ms = [
                    median_ms(
                        lambda a=after, e=environment, lim=limit, h=hint: raw_read(
                            store, a, e, lim, h
                        ),
                        repeats,
                    )[0]
                    for hint in ("", "NOT INDEXED")
                ]
                plain = (
                    f"{sql_ms[0]:.2f} | {sql_ms[1]:.2f} | {sql_ms[1] / sql_ms[0]:.1f}x"
                )
            else:
                plain = "— | — | —"
            print(
                f"| {name} | {len(found)} | {feed_ms:.2f} | {scan_ms:.1f} | "
                f"{scan_ms / feed_ms:.1f}x | {plain} |"
            )
        store.engine.dispose()


if __name__ == "__main__":
    main()
