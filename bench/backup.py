"""Benchmark: a full backup and restore, beside each database's own dump.

    .venv/bin/python bench/backup.py            # 50,000 audit rows (~2 min)
    .venv/bin/python bench/backup.py --quick    # 5,000 audit rows, a smoke test

The store: 200 flags changed through units of work (one audit row each, chained
and keyed as in use), 2,000 metric-window rows of 8 KiB. It is written on SQLite,
backed up, and restored on SQLite, PostgreSQL and MariaDB (each an empty database
of its own); each of those is then backed up again. Figures, median of `--repeat`:

  create    `create_backup` (one snapshot, every table to the zip, verify);
  peer      the database's own tool on the same data: SQLite's online backup
            API (a page copy), `pg_dump -Fc`, `mariadb-dump --single-transaction`;
  restore   `restore_backup` into an empty store (read and check the file, load,
            verify inside the transaction, the restore row), once;
  verify    `verify_audit` on the restored store, once: the share of a restore
            that its verification costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.store import AuditKeyring, Author, SqlFlagStore
from flagramp.store.backups import create_backup, restore_backup
from flagramp.store.window_tables import metric_windows

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test"
KEYRING = AuditKeyring.from_text("be" * 32, "bench")
WHO = Author("bench", "benchmark")
FLAGS = 200
WINDOWS = 2_000


def fill(store: SqlFlagStore, rows: int) -> None:
    with store.unit_of_work(WHO) as unit:
        for n in range(FLAGS):
            unit.create_flag(Flag(f"flag_{n}", description="naïve — 日本"))
    done = FLAGS
    while done < rows:
        with store.unit_of_work(WHO) as unit:
            for _ in range(min(1_000, rows - done)):
                pct = Percentage.parse(str(1 + (done // FLAGS) % 99))
                change = partial(ops.set_percentage_of_actors, pct=pct)
                unit.change_flag(f"flag_{done % FLAGS}", change)
                done += 1
    with store.engine.begin() as conn:
        conn.execute(
            metric_windows.insert(),
            [
                {
                    "run": "bench",
                    "flag": f"flag_{n % FLAGS}",
                    "lane": "on",
                    "start_minute": n,
                    "end_minute": n + 1,
                    "data": os.urandom(8 * 1024),
                }
                for n in range(WINDOWS)
            ],
        )


def timed(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES if kind == "postgres" else MARIADB)
    create = (
        f'CREATE SCHEMA "{name}"' if kind == "postgres" else f"CREATE DATABASE `{name}`"
    )
    drop = (
        f'DROP SCHEMA "{name}" CASCADE'
        if kind == "postgres"
        else f"DROP DATABASE `{name}`"
    )
    with admin.begin() as conn:
        conn.execute(sa.text(create))
    try:
        if kind == "postgres":
            yield f"{POSTGRES}?options=-csearch_path%3D{name}"
        else:
            yield MARIADB.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(drop))
        admin.dispose()


def peer(kind: str, url: str, folder: Path) -> Callable[[], object]:
    parsed = sa.engine.make_url(url)
    out = folder / f"peer-{kind}.dump"
    if kind == "sqlite":

        def copy() -> None:
            out.unlink(missing_ok=True)
            with (
                sqlite3.connect(str(parsed.database)) as src,
                sqlite3.connect(out) as dst,
            ):
                src.backup(dst)

        return copy
    if kind == "postgres":
        schema = str(parsed.query["options"]).split("=", 1)[1]
        command = [
            "pg_dump",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-n",
            schema,
            "-Fc",
            "-f",
            str(out),
        ]
    else:
        tool = shutil.which("mariadb-dump") or "mysqldump"
        command = [
            tool,
            "-h",
            "127.0.0.1",
            "-u",
            "root",
            "--single-transaction",
            f"--result-file={out}",
            str(parsed.database),
        ]
    return partial(subprocess.run, command, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = 5_000 if args.quick else 50_000
    repeat = 1 if args.quick else args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source_url = f"sqlite:///{folder / 'source.db'}"
        source = SqlFlagStore.open(source_url, keyring=KEYRING)
        start = time.perf_counter()
        fill(source, rows)
        print(
            f"store: {rows:,} audit rows, {FLAGS} flags, {WINDOWS:,} window rows "
            f"of 8 KiB (written in {time.perf_counter() - start:.1f} s)"
        )
        ref = create_backup(source, label="bench", author=WHO, directory=folder)
        assert ref.path is not None
        db_size = (folder / "source.db").stat().st_size
        print(
            f"backup file {ref.path.stat().st_size / 2**20:.1f} MiB "
            f"(SQLite file {db_size / 2**20:.1f} MiB), {ref.rows:,} rows\n"
        )
        print("| backend | create | peer dump | restore | verify |")
        print("|---|---|---|---|---|")
        for kind in ("sqlite", "postgres", "mariadb"):
            with database(kind, folder) as url:
                target = SqlFlagStore.open(url, keyring=KEYRING)
                start = time.perf_counter()
                report = restore_backup(target, ref.path, author=WHO)
                restore = time.perf_counter() - start
                assert report.audit.ok
                start = time.perf_counter()
                assert target.verify_audit().ok
                verify = time.perf_counter() - start
                again = partial(
                    create_backup,
                    target,
                    label="again",
                    author=WHO,
                    directory=folder / kind,
                )
                create = timed(again, repeat)
                dump = timed(peer(kind, url, folder), repeat)
                print(
                    f"| {kind} | {create:.2f} s | {dump:.2f} s | {restore:.2f} s "
                    f"| {verify:.2f} s |"
                )
                target.engine.dispose()
        source.engine.dispose()


if __name__ == "__main__":
    main()
