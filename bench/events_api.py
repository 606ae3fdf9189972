"""Benchmark: events ingestion through `POST /api/v1/events` on one worker.

    .venv/bin/python bench/events_api.py            # 3 rounds x 40 batches of 5,000
    .venv/bin/python bench/events_api.py --quick    # 1 round x 5 batches

The server is `create_app` under uvicorn (one worker, uvloop and httptools) in
a process of its own, on SQLite; the client (httpx, one connection, batches
sent one after another, gzip'd JSON as the SDK sends) is this process. Each
batch holds 5,000 events: exposures of 1,000 actors to `new_flow` and request
outcomes of the same actors, times at the receiver's clock. Rows:

- baseline, in process: `json.loads` + `core.event_parsing.parse_batch` of the
  same bodies, no HTTP (the floor the API cannot beat);
- API, no run watching: parse, batch key, answer (events counted `unwatched`);
- API, one scope watching `new_flow` (two plan metrics): the above plus
  `store.WindowStore.ingest` of the batch, one transaction, in the store.

Target: >= 50,000 events/s batched on one worker. Cases run interleaved, round
after round; the table shows the median round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

BATCH = 5_000
ACTORS = 1_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def batch_body(number: int, tag: str) -> bytes:
    now = dt.datetime.now(dt.UTC).timestamp()
    events: list[dict[str, Any]] = []
    for i in range(BATCH // 2):
        actor = f"user-{(number * 7 + i) % ACTORS}"
        events.append(
            {
                "type": "exposure",
                "at": now,
                "actor": actor,
                "flag": "new_flow",
                "variant": "on" if i % 2 else "off",
            }
        )
        events.append(
            {
                "type": "request",
                "at": now,
                "actor": actor,
                "route": "/appointments",
                "status": 500 if i % 50 == 0 else 200,
                "latency_ms": 80.0 + i % 300,
                "name": "vaos_request",
            }
        )
    document = {
        "environment": "production",
        "batch_key": f"bench-{tag}-{number}",
        "events": events,
    }
    return gzip.compress(json.dumps(document).encode(), compresslevel=1)


def serve(url: str, port: int, watch: bool, ready: Any) -> None:
    import uvicorn

    from flagramp.core.metric_kinds import MetricKind
    from flagramp.server.app import create_app
    from flagramp.server.event_sinks import ScopeSink
    from flagramp.server.settings import ServerSettings
    from flagramp.stats.batch_ingest import BatchIngest, MetricSpec
    from flagramp.store import SqlFlagStore

    store = SqlFlagStore.open(url)
    app = create_app(ServerSettings(), store=store)
    if watch:
        sink = app.state.flagramp.events
        assert isinstance(sink, ScopeSink)
        specs = [
            MetricSpec(
                "error_rate", MetricKind.RATIO, ("vaos_request_failed", "vaos_request")
            ),
            MetricSpec(
                "latency", MetricKind.QUANTILE, ("vaos_request",), value="latency_ms"
            ),
        ]
        sink.watch(BatchIngest("bench-run/p/s/1", "new_flow", specs))
    ready.set()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def prepare(url: str) -> str:
    from flagramp.core.flags import Flag
    from flagramp.store import Author, SqlFlagStore
    from flagramp.store.tokens import OwnerKind, Permission, TokenStore

    store = SqlFlagStore.open(url)
    store.create_flag(Flag(key="new_flow"), Author("bench"))
    token = TokenStore(store).issue(
        owner="bench-app",
        owner_kind=OwnerKind.SERVICE,
        permission=Permission.SDK,
        environment="production",
        author=Author("bench"),
    )
    store.engine.dispose()
    return token.token


def through_api(port: int, token: str, bodies: list[bytes]) -> float:
    headers = {
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "content-encoding": "gzip",
    }
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        started = time.perf_counter()
        for body in bodies:
            answer = client.post("/api/v1/events", content=body, headers=headers)
            answer.raise_for_status()
            got = answer.json()
            if got["accepted"] != BATCH or got["rejected"]:
                raise RuntimeError(f"batch not taken whole: {str(got)[:300]}")
        return time.perf_counter() - started


def in_process(bodies: list[bytes]) -> float:
    from flagramp.core.event_parsing import parse_batch

    started = time.perf_counter()
    for body in bodies:
        document = json.loads(gzip.decompress(body))
        parsed = parse_batch(
            document["events"],
            key=document["batch_key"],
            received_at=dt.datetime.now(dt.UTC),
        )
        assert parsed.accepted == BATCH
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, batches = (1, 5) if args.quick else (3, 40)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FLAGRAMP_AUDIT_KEY_FILE"] = str(Path(tmp) / "audit-key")
        servers: dict[str, tuple[Any, int, str]] = {}
        for case, watch in (("unwatched", False), ("one scope", True)):
            url = f"sqlite:///{Path(tmp) / (case.replace(' ', '_') + '.db')}"
            token = prepare(url)
            port = free_port()
            ready = context.Event()
            process = context.Process(
                target=serve, args=(url, port, watch, ready), daemon=True
            )
            process.start()
            ready.wait(60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            servers[case] = (process, port, token)
        results: dict[str, list[float]] = {
            "baseline: parse in process": [],
            "API, unwatched": [],
            "API, one scope": [],
        }
        try:
            for number in range(rounds):
                tag = f"r{number}"
                bodies = [batch_body(i, tag) for i in range(batches)]
                results["baseline: parse in process"].append(
                    BATCH * batches / in_process(bodies)
                )
                for case in ("unwatched", "one scope"):
                    _, port, token = servers[case]
                    seconds = through_api(port, token, bodies)
                    results[f"API, {case}"].append(BATCH * batches / seconds)
        finally:
            for process, _, _ in servers.values():
                process.terminate()
                process.join(15)
    print(
        f"{rounds} rounds x {batches} batches of {BATCH:,} events (gzip'd JSON); "
        "median round"
    )
    print("| case | events/s | vs baseline |")
    print("|---|---|---|")
    base = statistics.median(results["baseline: parse in process"])
    for case, rates in results.items():
        rate = statistics.median(rates)
        print(f"| {case} | {rate:,.0f} | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
