"""Benchmark: simulated minutes per second, fast (aggregate) mode vs per-event mode.

    .venv/bin/python bench/sim.py            # a day and a month of VAOS traffic
    .venv/bin/python bench/sim.py --quick    # 2 hours both ways, a day fast

The world is the VAOS example (`flagramp.sim.examples.vaos_world`: 200,000 users,
400 requests/minute over a week, a daily curve, four toggles), its second toggle at
25 %. Compared in the same run, on the same traffic:

- fast mode: `span_aggregate` summing hour spans (what a long hold needs) and,
  for the day, minute spans (one call a minute, as a controller ticks);
- per-event mode: `span_batches` building every exposure, request and business
  event; and, for the day, those events through the real `stats` ingest
  (`WindowIngest`), which is what a caller pays without the fast mode.

Both modes read the same draws; the run checks that their request counts agree.
Each figure is the best of a few runs (the machine is shared); the month of
events is built once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from collections.abc import Callable

from flagramp.core.events import RequestOutcome
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim import FlagState, epoch_minute, span_aggregate, span_batches
from flagramp.sim.examples import VAOS_FLAGS, vaos_world
from flagramp.stats.ingest import MetricSpec, WindowIngest

SEED = 20261123
START = epoch_minute(dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
DAY = 1440
SPECS = (
    MetricSpec(
        "error_rate",
        MetricKind.RATIO,
        ("vaos_service_request_failed", "vaos_service_request"),
    ),
    MetricSpec(
        "abandonment", MetricKind.RATIO, ("scheduling_abandoned", "scheduling_started")
    ),
    MetricSpec("unique_users", MetricKind.UNIQUE_ACTORS, ("vaos_service_request",)),
    MetricSpec(
        "latency", MetricKind.QUANTILE, ("vaos_service_request",), value="latency_ms"
    ),
)


def states() -> tuple[FlagState, ...]:
    """Phase I done (100 %), phase II at 25 %, the others off."""
    pct = (100.0, 25.0, 0.0, 0.0)
    return tuple(FlagState(f, p) for (f, _), p in zip(VAOS_FLAGS, pct, strict=True))


def fast(minutes: int, step: int) -> tuple[float, float]:
    """Seconds to aggregate `minutes` in spans of `step`; requests counted."""
    world, flags = vaos_world(), states()
    key = VAOS_FLAGS[1][0]
    requests = 0.0
    t = time.perf_counter()
    for a in range(START, START + minutes, step):
        agg = span_aggregate(SEED, world, a, a + step, flags, report=(key,))
        sums = agg.flags[key]
        req = [i for i, c in enumerate(agg.channels) if c.is_request]
        requests += float(sums.counts[:, req].sum())
    return time.perf_counter() - t, requests


def events(minutes: int, ingest: bool) -> tuple[float, float, int]:
    """Seconds to build (and maybe ingest) every event; requests seen; events."""
    world, flags = vaos_world(), states()
    key = VAOS_FLAGS[1][0]
    pipe = WindowIngest("bench", key, SPECS) if ingest else None
    requests, n = 0.0, 0
    t = time.perf_counter()
    for batch in span_batches(SEED, world, START, START + minutes, flags):
        n += len(batch.events)
        if pipe is not None:
            pipe.add_batch(batch)
            pipe.flush()
        else:
            # Every VAOS visit is exposed to every toggle: all requests count.
            requests += sum(isinstance(e, RequestOutcome) for e in batch.events)
    return time.perf_counter() - t, requests, n


def row(name: str, minutes: int, seconds: float, baseline: float | None) -> str:
    rate = minutes / seconds
    ratio = "" if baseline is None else f"{rate / baseline:,.1f}x"
    return f"| {name} | {minutes:,} | {seconds:.2f} | {rate:,.0f} | {ratio} |"


def best(run: Callable[[], tuple[float, ...]], repeats: int) -> tuple[float, ...]:
    """The run with the least wall time of `repeats` (the machine is shared)."""
    return min((run() for _ in range(repeats)), key=lambda r: r[0])


def horizon(minutes: int, with_events: bool, ingest: bool, repeats: int) -> None:
    """Rows for one horizon: per-event first (the baseline), then fast modes."""
    base: float | None = None
    slow = max(1, repeats - 1) if minutes <= DAY else 1
    if with_events:
        secs, requests, n = best(lambda: events(minutes, ingest=False), slow)
        base = minutes / secs
        print(row(f"per-event: build {int(n):,} events", minutes, secs, None))
        if ingest:
            ing = best(lambda: events(minutes, ingest=True), slow)[0]
            print(row("per-event: build + stats WindowIngest", minutes, ing, base))
        fast_s, fast_requests = best(lambda: fast(minutes, 60), repeats)
        assert fast_requests == requests, (fast_requests, requests)
    else:
        fast_s, _ = best(lambda: fast(minutes, 60), repeats)
    print(row("fast: hour spans", minutes, fast_s, base))
    if minutes >= DAY:
        day_s = best(lambda: fast(minutes, DAY), repeats)[0]
        print(row("fast: day spans", minutes, day_s, base))
    if minutes <= DAY:
        minute_s = best(lambda: fast(minutes, 1), repeats)[0]
        print(row("fast: minute spans", minutes, minute_s, base))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a day fast, 2 h of events"
    )
    args = parser.parse_args()
    wall = time.perf_counter()
    t = time.perf_counter()
    fast(60, 60)
    first = time.perf_counter() - t
    # Population, buckets and lanes are built once per process.
    print(f"first call (200,000 users: ids, buckets, lanes): {first:.2f} s")
    print("per-event and fast mode agree on every request count below\n")
    print("| mode | simulated minutes | seconds | minutes/s | vs per-event |")
    print("|---|---|---|---|---|")
    if args.quick:
        horizon(120, with_events=True, ingest=True, repeats=1)
        horizon(DAY, with_events=False, ingest=False, repeats=1)
    else:
        horizon(DAY, with_events=True, ingest=True, repeats=3)
        horizon(30 * DAY, with_events=True, ingest=False, repeats=2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory {peak:,.0f} MB; wall {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
