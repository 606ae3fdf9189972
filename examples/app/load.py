"""A bounded load on the example app: N users, M requests a second, T seconds.

    python examples/app/load.py --url http://127.0.0.1:8100 \
        --users 200 --rate 40 --seconds 120

Each request picks one of the users at random and asks `/checkout` for them;
a failed request (500, or no answer) is counted, never retried. It prints one
line of totals at the end (and `--every` seconds), and stops early on SIGTERM.
Loopback only: the URL must be on 127.0.0.1 or localhost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import time
import urllib.parse
from collections import Counter

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8100")
    parser.add_argument("--users", type=int, default=200, help="distinct users")
    parser.add_argument("--rate", type=float, default=40.0, help="requests a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long")
    parser.add_argument("--every", type=float, default=10.0, help="report interval")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    host = urllib.parse.urlsplit(args.url).hostname
    if host not in LOOPBACK:
        parser.error(f"--url must be on loopback, not {host!r}")
    if args.users < 1 or args.rate <= 0 or args.seconds <= 0:
        parser.error("--users, --rate and --seconds must be positive")
    return args


async def run(args: argparse.Namespace) -> Counter[str]:
    rng = random.Random(args.seed)
    totals: Counter[str] = Counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def one(client: httpx.AsyncClient, user: int) -> None:
        try:
            answer = await client.get("/checkout", params={"user": str(user)})
        except httpx.HTTPError:
            totals["no answer"] += 1
            return
        totals[str(answer.status_code)] += 1
        if answer.status_code == 200:
            totals[answer.json().get("path", "?")] += 1

    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=args.url, timeout=5, limits=limits) as client:
        started = time.monotonic()
        next_report = started + args.every
        pending: set[asyncio.Task[None]] = set()
        sent = 0
        while not stop.is_set():
            now = time.monotonic()
            if now - started >= args.seconds:
                break
            # Sends on schedule (open loop): a slow app does not slow the load.
            due = int((now - started) * args.rate) + 1
            for _ in range(due - sent):
                task = asyncio.create_task(one(client, rng.randrange(args.users)))
                pending.add(task)
                task.add_done_callback(pending.discard)
            sent = max(sent, due)
            if now >= next_report:
                report(totals)
                next_report += args.every
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1 / args.rate)
        if pending:
            await asyncio.wait(pending, timeout=5)
    return totals


def report(totals: Counter[str]) -> None:
    """One line of totals, flushed (a parent reads it from a pipe)."""
    parts = " ".join(f"{key}={value}" for key, value in sorted(totals.items()))
    print(f"load: {parts}", flush=True)


def main(argv: list[str] | None = None) -> int:
    totals = asyncio.run(run(parse_args(argv)))
    report(totals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
