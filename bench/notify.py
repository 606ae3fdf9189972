"""Benchmark: what the outbox costs a transition, and how fast it drains.

    .venv/bin/python bench/notify.py            # 1,000 transitions, 2,000 rows
    .venv/bin/python bench/notify.py --quick    # 100 and 200, a smoke test

On SQLite (a file) and PostgreSQL (127.0.0.1:5432, a schema of its own), two
measurements, each against a baseline in the same run:

  transition  one unit of work as the controller makes it (a flag's percentage
              and a run event through `record`), with and without `enqueue` of a
              notice to 2 webhooks and 2 e-mail addresses (4 outbox rows);
              interleaved, median per unit.
  drain       `dispatch` of N rows to a local HTTP receiver that answers 200 at
              once: one dispatcher, two in threads; beside the same N POSTs sent
              by httpx in a loop with no outbox (the floor: HTTP on loopback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import sqlalchemy as sa

from flagramp.core.clock import SystemClock
from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.engine.notifications.dispatch import dispatch
from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.engine.notify import Notice, NoticeKind, NoticeRole, enqueue
from flagramp.store import Author, SqlFlagStore
from flagramp.store.audit_keys import AuditKeyring

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WHO = Author("bench", "notify")
T0 = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
KEYRING = AuditKeyring.generate()


def notice(key: str) -> Notice:
    return Notice(
        kind=NoticeKind.ROLLED_BACK,
        run="run-1",
        environment="production",
        title="vaos rolled back at stage 2",
        text="error rate 6.1 % passed its limit of 5 %",
        key=key,
        at=T0,
        roles=(
            NoticeRole("owner", ("eng.lead@example.gov",)),
            NoticeRole("po", ("product.owner@example.gov",)),
        ),
        data={"link": "http://flagramp.test/runs/run-1", "evidence": {"n": 61}},
    )


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def receiver() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def transition(store: SqlFlagStore, n: int, with_notice: bool) -> float:
    started = time.perf_counter()
    with store.unit_of_work(WHO) as unit:
        pct = Percentage.parse(str(n % 100))
        unit.change_flag("vaos", lambda f: ops.set_percentage_of_actors(f, pct))
        unit.record("production", "run", "run-1", "advance", None, {"seq": n})
        if with_notice:
            enqueue(unit, notice(f"run-1:{n}"))
    return (time.perf_counter() - started) * 1000


def bench_transitions(store: SqlFlagStore, count: int) -> tuple[float, float]:
    plain: list[float] = []
    noticed: list[float] = []
    for n in range(count):
        plain.append(transition(store, 2 * n, False))
        noticed.append(transition(store, 2 * n + 1, True))
    return statistics.median(plain), statistics.median(noticed)


def fill_outbox(store: SqlFlagStore, rows: int, prefix: str) -> None:
    for start in range(0, rows, 100):
        with store.unit_of_work(WHO) as unit:
            for n in range(start, min(start + 100, rows)):
                enqueue(unit, notice(f"{prefix}:{n}"))


def drain(store: SqlFlagStore, url: str, rows: int, dispatchers: int) -> float:
    fill_outbox(store, rows, f"drain{dispatchers}")
    others = [SqlFlagStore(store.engine, keyring=KEYRING) for _ in range(dispatchers)]
    sent: list[int] = []
    started = time.perf_counter()

    def run(each: SqlFlagStore) -> None:
        sent.append(len(dispatch(each, SystemClock(), limit=rows * 2).delivered))

    threads = [threading.Thread(target=run, args=(s,)) for s in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert sum(sent) == rows, (sent, rows)
    return rows / elapsed


def floor(url: str, rows: int) -> float:
    body = b'{"delivery": "x", "notice": {}}'
    started = time.perf_counter()
    with httpx.Client(follow_redirects=False) as client:
        for _ in range(rows):
            client.post(url, content=body).raise_for_status()
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    transitions, rows = (100, 200) if args.quick else (1000, 2000)
    os.environ.pop("FLAGRAMP_SMTP_URL", None)
    print(f"transitions: {transitions:,} of each kind; drain: {rows:,} rows")
    print(
        f"{'backend':<10} {'unit ms':>8} {'+notice':>8} {'extra':>7} "
        f"{'1 disp/s':>9} {'2 disp/s':>9} {'httpx/s':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp, receiver() as url:
        for backend in ("sqlite", "postgres"):
            with database(backend, Path(tmp)) as db:
                store = SqlFlagStore.open(db, keyring=KEYRING)
                store.create_flag(Flag(key="vaos"), WHO, "production")
                with store.unit_of_work(WHO) as unit:
                    for _ in range(2):
                        add_webhook(
                            unit,
                            "production",
                            url,
                            format=WebhookFormat.JSON,
                            secret="s" * 32,
                            at=T0,
                        )
                # The e-mail rows are written (SMTP is on at enqueue time) ...
                os.environ["FLAGRAMP_SMTP_URL"] = "smtp://127.0.0.1:9"
                plain, noticed = bench_transitions(store, transitions)
                os.environ.pop("FLAGRAMP_SMTP_URL")
                # ... but the drain sends webhooks only: clear the outbox first.
                with store.engine.begin() as conn:
                    conn.execute(sa.text("DELETE FROM notification_outbox"))
                with store.unit_of_work(WHO) as unit:
                    unit.execute(sa.text("DELETE FROM webhooks WHERE id = 2"))
                one = drain(store, url, rows, 1)
                two = drain(store, url, rows, 2)
                base = floor(url, rows)
                print(
                    f"{backend:<10} {plain:>8.2f} {noticed:>8.2f} "
                    f"{noticed - plain:>+7.2f} {one:>9,.0f} {two:>9,.0f} {base:>8,.0f}"
                )
                store.engine.dispose()


if __name__ == "__main__":
    main()
