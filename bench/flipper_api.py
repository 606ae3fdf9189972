"""Benchmark: `GET /flipper/api/features` with 500 features on one uvicorn worker.

    .venv/bin/python bench/flipper_api.py            # 3 rounds of 5 s per case
    .venv/bin/python bench/flipper_api.py --quick    # 1 round of 1 s, a smoke test

What Flipper's HTTP adapter asks for in `get_all` (`?exclude_gate_names=true`, no
Accept-Encoding): the full answer, and the `304` it gets back when it sends the
ETag of its last answer. Flipper Cloud's client adds `accept-encoding: gzip`, so
the full answer is also measured gzipped.

Baseline, in the same run on the same server: a Starlette route that returns the
same bytes (the API's answer, precomputed) or the same empty 304, through the same
gzip middleware. The gap is what the API itself costs per request: reading the
store, the Flipper view of every flag, and JSON.

The server runs in its own process (one worker, uvicorn's defaults: uvloop and
httptools); requests come from wrk (Debian package `wrk`), 1 thread, 16
connections, on the same 2 cores. Cases run interleaved, round after round; the
table shows the median of the rounds. Store: SQLite, 500 features (booleans,
actor lists, percentages, groups, a tenth with an eligibility segment).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_FEATURES = 500
SEED = 20261201
CONNECTIONS = 16
PATH = "/flipper/api/features?exclude_gate_names=true"


def build_store(path: Path) -> None:
    """500 features of every shape, in one import."""
    from flagramp.core.flags import Flag, Percentage, Segment
    from flagramp.store import Author, FlagStore

    rng = random.Random(SEED)
    store = FlagStore.open(f"sqlite:///{path}")
    author = Author("bench")
    store.put_segment(Segment.from_rules("oracle", ["ehr in [oracle]"]), author)
    store.put_segment(Segment.from_rules("admins", ["role == admin"]), author)
    flags = []
    for n in range(N_FEATURES):
        shape = n % 5
        flag = Flag(f"va_feature_{n:03d}_{rng.getrandbits(24):06x}")
        if shape == 0:
            flag = flag.with_changes(boolean=True)
        elif shape == 1:
            ids = tuple(
                f"User;{rng.randrange(10**6)}" for _ in range(rng.randrange(1, 20))
            )
            flag = flag.with_changes(actors=ids)
        elif shape == 2:
            pct = Percentage.parse(str(rng.choice([5, 12.5, 25, 50, 75])))
            flag = flag.with_changes(percentage_of_actors=pct, groups=("admins",))
        elif shape == 3:
            flag = flag.with_changes(percentage_of_time=Percentage.parse("10"))
        if n % 10 == 4:
            flag = flag.with_changes(
                eligibility="oracle", percentage_of_actors=Percentage.parse("25")
            )
        flags.append(flag)
    store.put_flags(flags, author)
    store.engine.dispose()


def serve(db: Path, port: int) -> None:
    """The server process: the API and the static baseline on one worker."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from flagramp.server.flipper_api import flipper_api
    from flagramp.store import FlagStore, open_engine

    store = FlagStore(open_engine(f"sqlite:///{db}", migrate=False))
    api = flipper_api(store)
    body, etag = _precomputed(api)

    async def full(request: Request) -> Response:
        return Response(body, headers={"etag": etag}, media_type="application/json")

    async def not_modified(request: Request) -> Response:
        return Response(status_code=304, headers={"etag": etag})

    static = GZipMiddleware(
        Starlette(routes=[Route("/full", full), Route("/not-modified", not_modified)]),
        minimum_size=1,
        compresslevel=6,
    )
    app = Starlette(
        routes=[Mount("/flipper/api", app=api), Mount("/static", app=static)]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _precomputed(api: object) -> tuple[bytes, str]:
    import anyio
    import httpx

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=api, root_path="/flipper/api")  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.get(
                "http://bench/flipper/api/features?exclude_gate_names=true"
            )

    response = anyio.run(fetch)
    assert response.status_code == 200
    return response.content, response.headers["etag"]


def rebuild_ms(db: Path, repeats: int) -> float:
    """Median ms to build the full answer from the store, in process: what the first
    request after a change pays (later ones get the kept bytes)."""
    from flagramp.core.clock import SystemClock
    from flagramp.server.flipper_api import reads
    from flagramp.server.flipper_api.context import FlipperContext, render
    from flagramp.server.flipper_api.params import read_params
    from flagramp.store import FlagStore, open_engine

    store = FlagStore(open_engine(f"sqlite:///{db}", migrate=False))
    context = FlipperContext(store, "production", SystemClock(), random.random)
    params = read_params("exclude_gate_names=true", None, "GET", b"").params
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        render(reads._features_document(context, params))
        times.append((time.perf_counter() - start) * 1000)
    store.engine.dispose()
    return statistics.median(times)


def wrk(url: str, seconds: int, headers: dict[str, str]) -> tuple[float, float]:
    """Requests/s and p50 latency (ms) from one wrk run."""
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    assert p50 is not None
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error answers")
    return rps, float(p50.group(1)) * scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s")
    parser.add_argument(
        "--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.serve:
        serve(Path(options.serve[0]), int(options.serve[1]))
        return
    if shutil.which("wrk") is None:
        sys.exit("bench/flipper_api.py needs wrk: apt-get install wrk")
    rounds, seconds = (1, 1) if options.quick else (3, 5)
    workdir = Path(tempfile.mkdtemp(prefix="flipper-bench-"))
    db = workdir / "flagramp.db"
    build_store(db)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(db), str(port)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        etag = _wait_for(base + PATH)
        body_size = _size(base + PATH)
        cases = {
            "full body": (PATH, {}, "/static/full", {}),
            "full body, gzip": (
                PATH,
                {"Accept-Encoding": "gzip"},
                "/static/full",
                {"Accept-Encoding": "gzip"},
            ),
            "304 (If-None-Match)": (
                PATH,
                {"If-None-Match": etag},
                "/static/not-modified",
                {},
            ),
        }
        results: dict[str, list[tuple[float, float, float, float]]] = {
            c: [] for c in cases
        }
        for _ in range(rounds):
            for name, (
                api_path,
                api_headers,
                static_path,
                static_headers,
            ) in cases.items():
                api = wrk(base + api_path, seconds, api_headers)
                static = wrk(base + static_path, seconds, static_headers)
                results[name].append((*api, *static))
        _report(results, rounds, seconds, body_size)
        print()
        repeats = 5 if options.quick else 30
        print(
            f"building the answer after a change (in process, median of {repeats}): "
            f"{rebuild_ms(db, repeats):.1f} ms"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _report(
    results: dict[str, list[tuple[float, float, float, float]]],
    rounds: int,
    seconds: float,
    body_size: int,
) -> None:
    print(
        f"GET {PATH}: {N_FEATURES} features, {body_size:,} bytes; one uvicorn worker; "
        f"wrk -t1 -c{CONNECTIONS}, {rounds} x {seconds:g} s per case (median of rounds)"
    )
    print(f"python {platform.python_version()}, {os.cpu_count()} cores")
    print()
    print(
        "| case | flagramp req/s | p50 ms | static baseline req/s | p50 ms "
        "| flagramp / static |"
    )
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        api_rps = statistics.median(r[0] for r in runs)
        api_p50 = statistics.median(r[1] for r in runs)
        static_rps = statistics.median(r[2] for r in runs)
        static_p50 = statistics.median(r[3] for r in runs)
        print(
            f"| {name} | {api_rps:,.0f} | {api_p50:.2f} | {static_rps:,.0f} | "
            f"{static_p50:.2f} | {api_rps / static_rps:.2f} |"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str) -> str:
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(url)
            return response.headers["etag"]
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _size(url: str) -> int:
    import httpx

    return len(httpx.get(url, headers={"accept-encoding": "identity"}).content)


if __name__ == "__main__":
    main()
