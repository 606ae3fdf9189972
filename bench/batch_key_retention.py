"""Benchmark: event batch key retention, chunked, beside one unbounded DELETE.

    .venv/bin/python bench/batch_key_retention.py           # 500,000 old keys
    .venv/bin/python bench/batch_key_retention.py --quick   # 50,000, a smoke test

Per backend (SQLite, PostgreSQL, MariaDB; one absent is skipped), `event_batches`
is filled with N keys past the 7-day retention and N/10 fresh ones, then:

  chunked   `expire_batch_keys` as the controller's tick runs it (10,000 keys a
            transaction, at most 50 a tick): total time, chunks, the longest
            chunk (how long one transaction holds its locks);
  baseline  the same keys deleted by one unbounded `DELETE ... WHERE
            forget_after < cutoff` (`EventBatchKeys.forget`): one transaction
            for all of them;
  empty     a tick with nothing to delete (the cost every tick pays).

At 2,000 requests a second some 120,000 keys fall due a minute: a tick a
minute keeps up if `chunked` for that many is well under 60 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from flagramp.engine.batch_key_retention import CHUNK, DEFAULT_RETENTION
from flagramp.store.database import open_engine
from flagramp.store.event_batches import EventBatchKeys

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
INSERT = sa.text(
    "INSERT INTO event_batches (environment, batch_key, forget_after, accepted) "
    "VALUES (:e, :k, :f, 1)"
)


@contextmanager
def database(backend: str) -> Iterator[str]:
    """An empty database of its own on `backend`."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/bench.db"
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES if backend == "postgres" else MARIADB)
    create, drop, url = (
        (f'CREATE SCHEMA "{name}"', f'DROP SCHEMA "{name}" CASCADE', "")
        if backend == "postgres"
        else (f"CREATE DATABASE `{name}`", f"DROP DATABASE `{name}`", "")
    )
    with admin.begin() as conn:
        conn.execute(sa.text(create))
    try:
        if backend == "postgres":
            url = f"{POSTGRES}?options=-csearch_path%3D{name}"
        else:
            url = MARIADB.rsplit("/", 1)[0] + f"/{name}"
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(drop))
        admin.dispose()


def fill(engine: sa.Engine, old: int) -> None:
    """`old` keys past the retention (spread over an hour) and old/10 fresh."""
    stale = int((NOW - DEFAULT_RETENTION - dt.timedelta(hours=2)).timestamp())
    fresh = int(NOW.timestamp())
    rows = [
        {"e": "production", "k": f"o{i}", "f": stale + i % 3600} for i in range(old)
    ]
    rows += [{"e": "production", "k": f"n{i}", "f": fresh} for i in range(old // 10)]
    with engine.begin() as conn:
        for start in range(0, len(rows), 20_000):
            conn.execute(INSERT, rows[start : start + 20_000])


def count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT COUNT(*) FROM event_batches")).scalar_one()
        )


def chunked(keys: EventBatchKeys) -> tuple[int, int, float, float]:
    """Deleted, chunks, total seconds, longest chunk seconds (ticks unbounded)."""
    before = NOW - DEFAULT_RETENTION
    deleted = chunks = 0
    longest = 0.0
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        done = keys.expire(before, limit=CHUNK)
        longest = max(longest, time.perf_counter() - t)
        chunks += 1
        deleted += done
        if done < CHUNK:
            break
    return deleted, chunks, time.perf_counter() - start, longest


def bench(backend: str, old: int) -> None:
    try:
        context = database(backend)
        url = context.__enter__()
    except Exception as exc:  # a service that is not there
        print(f"{backend}: skipped ({type(exc).__name__})")
        return
    try:
        engine = open_engine(url)
        keys = EventBatchKeys(engine)
        fill(engine, old)
        deleted, chunks, total, longest = chunked(keys)
        assert deleted == old and count(engine) == old // 10, (deleted, count(engine))
        t = time.perf_counter()
        keys.expire(NOW - DEFAULT_RETENTION, limit=CHUNK)
        empty = time.perf_counter() - t
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM event_batches"))
        fill(engine, old)
        t = time.perf_counter()
        gone = keys.forget(NOW - DEFAULT_RETENTION)
        baseline = time.perf_counter() - t
        assert gone == old, gone
        print(
            f"{backend:8} {old:>9,} keys  chunked {total:6.2f} s "
            f"({old / total:>9,.0f}/s, {chunks} chunks, "
            f"longest {longest * 1000:6.0f} ms)"
            f"  baseline one DELETE {baseline:6.2f} s ({old / baseline:>9,.0f}/s)"
            f"  empty tick {empty * 1000:5.1f} ms"
        )
        engine.dispose()
    finally:
        context.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 keys")
    parser.add_argument("--backends", default="sqlite,postgres,mariadb")
    args = parser.parse_args()
    old = 50_000 if args.quick else 500_000
    for backend in args.backends.split(","):
        bench(backend.strip(), old)


if __name__ == "__main__":
    main()
