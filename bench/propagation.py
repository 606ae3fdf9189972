"""Benchmark: a flag change through the API reaching N SSE clients on loopback.

    .venv/bin/python bench/propagation.py          # N = 1, 100, 1,000; 10 changes
    .venv/bin/python bench/propagation.py --quick  # N = 1, 50; 3 changes

The server is `flagramp serve` in its own process (one uvicorn worker) on a
SQLite store (the hub polls the store version every 200 ms) or, with
`--postgres URL`, on PostgreSQL (LISTEN/NOTIFY wakes it). N clients open
`/api/v1/stream` (plain asyncio sockets, so the clients cost little), wait for
their snapshot, then each change is made by `POST /api/v1/flags/{key}/enable`
or `/disable`; the latency of a client is the time from sending that request to
that client reading the change event with the new version. The table shows
p50, p99 and max over every client and change. Baseline in the same run: N = 1
(the floor: the write, the hub's wake-up and one event). Every client must see
every change, in order, exactly once; the run fails otherwise.

The open-file limit is raised to what N needs (soft limit up to the hard one).
Bounded: every wait has a time-out, every loop a count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[1] / "src"
MAIN = "from flagramp.cli.app import main; main()"


def raise_open_files(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, needed))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Client:
    """One SSE client: the versions it received and when."""

    received: list[tuple[int, float]] = field(default_factory=list)
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)


async def sse_client(
    port: int, token: str, client: Client, stop: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    event = ""
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                return
            text = line.decode().rstrip("\r\n")
            if text.startswith("event:"):
                event = text[6:].strip()
            elif text.startswith("data:") and event == "snapshot":
                client.snapshot.set()
            elif text.startswith("data:") and event == "change":
                version = json.loads(text[5:])["version"]
                client.received.append((version, time.perf_counter()))
    finally:
        writer.close()


async def run_case(
    port: int, tokens: dict[str, str], clients_n: int, changes: int
) -> list[float]:
    stop = asyncio.Event()
    clients = [Client() for _ in range(clients_n)]
    tasks = []
    for index, client in enumerate(clients):
        tasks.append(asyncio.create_task(sse_client(port, tokens["sdk"], client, stop)))
        if index % 50 == 49:
            await asyncio.sleep(0.05)  # do not flood the accept queue
    await asyncio.wait_for(asyncio.gather(*(c.snapshot.wait() for c in clients)), 120)
    latencies: list[float] = []
    headers = {"authorization": f"Bearer {tokens['engineer']}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=30
    ) as http:
        for number in range(changes):
            flag = (await http.get("/api/v1/flags/bench_flag", headers=headers)).json()
            action = "disable" if flag["state"] == "on" else "enable"
            sent = time.perf_counter()
            answer = await http.post(
                f"/api/v1/flags/bench_flag/{action}", headers=headers
            )
            answer.raise_for_status()
            version = int((await http.get("/readyz")).json()["store_version"])
            deadline = time.monotonic() + 30
            while any(not c.received or c.received[-1][0] < version for c in clients):
                if time.monotonic() > deadline:
                    seen = sorted(
                        {c.received[-1][0] if c.received else -1 for c in clients}
                    )
                    raise RuntimeError(
                        f"change {number} (version {version}) did not reach every "
                        f"client; last versions seen: {seen}"
                    )
                await asyncio.sleep(0.005)
            for client in clients:
                got_version, at = client.received[-1]
                assert got_version == version
                latencies.append(at - sent)
            await asyncio.sleep(0.3)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        versions = [v for v, _ in client.received]
        if versions != sorted(set(versions)) or len(versions) != changes:
            raise RuntimeError(
                f"a client saw {versions}, not each change once in order"
            )
    return latencies


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "FLAGRAMP_DATABASE_URL": url, "PYTHONPATH": str(SRC)}
    log = (workdir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", MAIN, "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                == 200
            ):
                return process, port
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def prepare(url: str) -> dict[str, str]:
    from flagramp.core.flags import Flag
    from flagramp.store import Author, SqlFlagStore
    from flagramp.store.tokens import OwnerKind, Permission, TokenStore

    store = SqlFlagStore.open(url)
    setup = Author("bench")
    store.create_flag(Flag(key="bench_flag"), setup)
    tokens = TokenStore(store)
    engineer = tokens.issue(
        owner="bench@example.org",
        owner_kind=OwnerKind.PERSON,
        permission=Permission.ENGINEER,
        author=setup,
    )
    sdk = tokens.issue(
        owner="bench-app",
        owner_kind=OwnerKind.SERVICE,
        permission=Permission.SDK,
        environment="production",
        author=setup,
    )
    store.engine.dispose()
    return {"engineer": engineer.token, "sdk": sdk.token}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL URL (an empty schema)"
    )
    args = parser.parse_args()
    sizes = (1, 50) if args.quick else (1, 100, 1000)
    changes = 3 if args.quick else 10
    limit = raise_open_files(max(sizes) * 2 + 256)
    print(f"open-file limit {limit}; {changes} changes per case")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = args.postgres or f"sqlite:///{workdir / 'flagramp.db'}"
        os.environ.setdefault("FLAGRAMP_AUDIT_KEY_FILE", str(workdir / "audit-key"))
        tokens = prepare(url)
        process, port = start_server(url, workdir)
        try:
            backend = (
                "PostgreSQL (LISTEN/NOTIFY)"
                if args.postgres
                else "SQLite (200 ms poll)"
            )
            print(f"store: {backend}; server: one uvicorn worker")
            print("| clients | changes | p50 ms | p99 ms | max ms |")
            print("|---|---|---|---|---|")
            for n in sizes:
                latencies = asyncio.run(run_case(port, tokens, n, changes))
                p50 = statistics.median(latencies) * 1000
                p99 = percentile(latencies, 0.99) * 1000
                print(
                    f"| {n:,} | {changes} | {p50:.0f} | {p99:.0f} | "
                    f"{max(latencies) * 1000:.0f} |"
                )
        finally:
            process.terminate()
            process.wait(timeout=15)


if __name__ == "__main__":
    main()
