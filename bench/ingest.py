"""Benchmark: events per second into minute windows, one process.

    .venv/bin/python bench/ingest.py            # 10 minutes of 20,000 requests/min
    .venv/bin/python bench/ingest.py --quick    # 2 minutes, a smoke test
    .venv/bin/python bench/ingest.py --no-floods  # without the flood cases

The flood cases (peak memory under floods of fingerprints, routes and old times)
are `bench/ingest_floods.py`, run at the end (its `--quick` with ours).

Events come from the traffic simulator (`flagramp.sim.minute_batch`: one exposure
per user, then 1–20 request outcomes each, 1 % failing with background error
fingerprints) plus one business event in ten users (csat, message_sent); they are
built before timing. Seven plan metrics, one of each kind and two with filters.

Compared in the same run, on the same events and metrics:

- flagramp: `stats.ingest.WindowIngest`, columnar (filters once per event profile,
  sums with numpy `bincount`, DDSketch keys vectorised);
- baseline: the straightforward loop, per event and per metric: the filter on a
  property dict, numpy element updates, `ddsketch.DDSketch.add`, HLL `update`;
- flagramp with the state in the store: `store.WindowStore.ingest`, one
  transaction per batch (actor states looked up and written, windows merged into
  their rows, batch key), on SQLite (a file) and PostgreSQL (if it is up).

All must agree on the error-rate sums; a cProfile of flagramp's ingest follows the
table, to show what dominates the cost. The in-memory rows are the best of 3 runs
(1 with --quick), the store rows and the baseline one run each.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from datasketches import hll_sketch
from ddsketch import DDSketch

from flagramp.core.event_parsing import parse_batch
from flagramp.core.events import (
    BusinessEvent,
    Event,
    EventBatch,
    Exposure,
    RequestOutcome,
)
from flagramp.core.flags.segments import Segment
from flagramp.core.metric_kinds import MetricKind
from flagramp.core.types import PropertyValue
from flagramp.sim import Scenario
from flagramp.sim.events import minute_batch
from flagramp.stats.buckets import bucket_of
from flagramp.stats.ingest import BatchIngest, MetricSpec, WindowIngest
from flagramp.stats.windows import Lane, Window, merge_all, to_bytes
from flagramp.store.windows import WindowStore

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SPECS = (
    MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec(
        "appointment_errors",
        MetricKind.RATIO,
        ("request_failed", "request"),
        where=("route in [/appointments, /appointments/:id]",),
    ),
    MetricSpec("latency_p95", MetricKind.QUANTILE, ("request",), "latency_ms"),
    MetricSpec("csat", MetricKind.MEAN, ("csat_response",), "score"),
    MetricSpec(
        "mobile_requests", MetricKind.COUNT, ("request",), where=("device == mobile",)
    ),
    MetricSpec("senders", MetricKind.SHARE_OF_USERS, ("message_sent",)),
    MetricSpec("unique_users", MetricKind.UNIQUE_ACTORS, ("request",)),
)


def make_batches(minutes: int, rpm: float) -> list[EventBatch]:
    """The simulator's batches, with business events for one user in ten."""
    scenario = Scenario(requests_per_minute=rpm, treatment_share=0.5, icc=0.05)
    batches = []
    for minute in range(minutes):
        batch = minute_batch(20261123, scenario, minute, flag="f", start=START)
        extra: list[Event] = []
        for i, e in enumerate(batch.events):
            if isinstance(e, Exposure) and i % 10 == 0:
                extra.append(
                    BusinessEvent(
                        e.at,
                        e.actor,
                        "csat_response",
                        attributes=(("score", i % 5 + 1),),
                    )
                )
                extra.append(BusinessEvent(e.at, e.actor, "message_sent"))
        batches.append(EventBatch(batch.key, batch.events + tuple(extra)))
    return batches


def received(minute: int) -> dt.datetime:
    """The receiver's clock when minute `minute`'s batch arrives (its end)."""
    return START + dt.timedelta(minutes=minute + 1)


def flagramp_ingest(batches: Sequence[EventBatch]) -> tuple[float, float]:
    """(error-rate numerator, denominator) over all windows, via WindowIngest."""
    pipe = WindowIngest("bench", "f", SPECS)
    windows: list[Window] = []
    for minute, batch in enumerate(batches):
        pipe.add_batch(batch, received_at=received(minute))
        windows.extend(pipe.flush())
    for w in windows:
        to_bytes(w)  # what the store would write
    sums = merge_all(w for w in windows if w.key.lane is Lane.ON)
    error = sums.metrics["error_rate"].sums
    return error.total_numerator, error.total_denominator


class Baseline:
    """The straightforward per-event, per-metric loop."""

    def __init__(self, buckets: int = 256) -> None:
        self.buckets = buckets
        self.filters = [
            Segment.from_rules(s.name, s.where) if s.where else None for s in SPECS
        ]
        self.assign: dict[str, Lane] = {}
        self.cells: dict[tuple[int, Lane], dict[str, object]] = {}
        self.seen: set[tuple[str, str, Lane]] = set()

    def cell(self, minute: int, lane: Lane) -> dict[str, object]:
        key = (minute, lane)
        if key not in self.cells:
            self.cells[key] = {
                "num": np.zeros((len(SPECS), self.buckets)),
                "den": np.zeros((len(SPECS), self.buckets)),
                "sketch": [DDSketch(0.01) for _ in SPECS],
                "hll": [hll_sketch(12) for _ in SPECS],
                "fingerprints": {},
            }
        return self.cells[key]

    def add(self, events: Sequence[Event]) -> None:
        for e in events:
            if isinstance(e, Exposure):
                self.assign[e.actor] = Lane.ON if e.variant == "on" else Lane.OFF
                continue
            lane = self.assign.get(e.actor)
            if lane is None:
                continue
            minute = int(e.at.timestamp() // 60)
            cell = self.cell(minute, lane)
            bucket = bucket_of(e.actor, self.buckets)
            props: dict[str, PropertyValue]
            if isinstance(e, RequestOutcome):
                names = {e.name, e.failed_name} if e.is_failed else {e.name}
                props = {"route": e.route, "device": e.device.value, "status": e.status}
                if e.error is not None:
                    fps = cell["fingerprints"]
                    assert isinstance(fps, dict)
                    fp = fps.setdefault(e.error, [0, set()])
                    fp[0] += 1
                    fp[1].add(e.actor)
            else:
                names = {e.name}
                props = {
                    "route": e.route,
                    "device": e.device.value,
                    **dict(e.attributes),
                }
            num, den = cell["num"], cell["den"]
            sketches, hlls = cell["sketch"], cell["hll"]
            assert isinstance(num, np.ndarray) and isinstance(den, np.ndarray)
            assert isinstance(sketches, list) and isinstance(hlls, list)
            for i, spec in enumerate(SPECS):
                check = self.filters[i]
                if check is not None and not check.contains(props):
                    continue
                first = spec.events[0] in names
                if spec.kind is MetricKind.RATIO:
                    num[i, bucket] += first
                    den[i, bucket] += spec.events[1] in names
                elif not first:
                    continue
                elif spec.kind is MetricKind.COUNT:
                    num[i, bucket] += 1
                elif spec.kind in (MetricKind.MEAN, MetricKind.QUANTILE):
                    value = (
                        e.latency_ms
                        if isinstance(e, RequestOutcome)
                        else float(dict(e.attributes).get("score", 0) or 0)
                    )
                    num[i, bucket] += value
                    den[i, bucket] += 1
                    if spec.kind is MetricKind.QUANTILE:
                        sketches[i].add(value)
                else:
                    hlls[i].update(e.actor)
                    if (spec.name, e.actor, lane) not in self.seen:
                        self.seen.add((spec.name, e.actor, lane))
                        num[i, bucket] += 1

    def error_rate(self) -> tuple[float, float]:
        num, den = 0.0, 0.0
        for (_, lane), cell in self.cells.items():
            n, d = cell["num"], cell["den"]
            assert isinstance(n, np.ndarray) and isinstance(d, np.ndarray)
            if lane is Lane.ON:
                num += float(n[0].sum())
                den += float(d[0].sum())
        return num, den


def to_raw(e: Event) -> dict[str, object]:
    """The JSON an SDK would send for `e` (for the parse + ingest row)."""
    at = e.at.isoformat()
    if isinstance(e, Exposure):
        return {
            "type": "exposure",
            "at": at,
            "actor": e.actor,
            "flag": e.flag,
            "variant": e.variant.value,
        }
    if isinstance(e, RequestOutcome):
        return {
            "type": "request",
            "at": at,
            "actor": e.actor,
            "route": e.route,
            "status": e.status,
            "latency_ms": e.latency_ms,
            "device": e.device.value,
            "error": e.error,
        }
    return {
        "type": "business",
        "at": at,
        "actor": e.actor,
        "name": e.name,
        "value": e.value,
        "attributes": dict(e.attributes),
    }


def parse_and_ingest(raw: Sequence[tuple[str, list[dict[str, object]]]]) -> None:
    """Raw JSON-like batches through `parse_batch`, then `WindowIngest`."""
    pipe = WindowIngest("bench", "f", SPECS)
    for minute, (key, events) in enumerate(raw):
        now = received(minute)
        pipe.add_batch(parse_batch(events, key=key, received_at=now).batch)
        pipe.flush()


def store_ingest(url: str, batches: Sequence[EventBatch]) -> tuple[float, float]:
    """(error-rate numerator, denominator) via `WindowStore.ingest` at `url`."""
    store = WindowStore.open(url)
    try:
        pipe = BatchIngest("bench", "f", SPECS)
        for minute, batch in enumerate(batches):
            store.ingest(pipe, batch, received_at=received(minute))
        on = merge_all(store.windows("bench", "f", lane=Lane.ON))
    finally:
        store.engine.dispose()
    error = on.metrics["error_rate"].sums
    return error.total_numerator, error.total_denominator


def timed_store(
    url: str, batches: Sequence[EventBatch]
) -> tuple[float, tuple[float, float]]:
    """Seconds and error-rate sums of `store_ingest` (migrated before timing)."""
    WindowStore.open(url).engine.dispose()
    t = time.perf_counter()
    sums = store_ingest(url, batches)
    return time.perf_counter() - t, sums


def store_rows(
    batches: Sequence[EventBatch],
) -> list[tuple[str, float, tuple[float, float]]]:
    """`store_ingest` on SQLite, and on PostgreSQL when it is up."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        secs, sums = timed_store(f"sqlite:///{Path(tmp) / 'bench.db'}", batches)
        rows.append(("flagramp WindowStore.ingest, SQLite (events built)", secs, sums))
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        print("PostgreSQL is not up: no PostgreSQL row")
        return rows
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
        secs, sums = timed_store(url, batches)
        rows.append(
            ("flagramp WindowStore.ingest, PostgreSQL (events built)", secs, sums)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return rows


def baseline_ingest(batches: Sequence[EventBatch]) -> tuple[float, float]:
    """(error-rate numerator, denominator) via the straightforward loop."""
    base = Baseline()
    for batch in batches:
        base.add(batch.events)
    return base.error_rate()


def timed(
    run: Callable[[Sequence[EventBatch]], tuple[float, float]],
    batches: Sequence[EventBatch],
    repeats: int,
) -> tuple[float, tuple[float, float]]:
    """Best wall time of `repeats` runs, and the run's error-rate sums."""
    best = float("inf")
    result = (0.0, 0.0)
    for _ in range(repeats):
        t = time.perf_counter()
        result = run(batches)
        best = min(best, time.perf_counter() - t)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 minutes of traffic")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--rpm", type=float, default=20_000.0)
    parser.add_argument("--no-floods", action="store_true", help="skip the floods")
    args = parser.parse_args()
    minutes = 2 if args.quick else args.minutes
    batches = make_batches(minutes, args.rpm)
    n = sum(len(b.events) for b in batches)
    kinds = {
        k.__name__: sum(type(e) is k for b in batches for e in b.events)
        for k in (Exposure, RequestOutcome, BusinessEvent)
    }
    print(f"{n:,} events over {minutes} minutes: {kinds}; {len(SPECS)} metrics")
    repeats = 1 if args.quick else 3
    fast_s, fast = timed(flagramp_ingest, batches, repeats)
    slow_s, slow = timed(baseline_ingest, batches, 1)
    assert fast == slow, f"flagramp {fast} != baseline {slow}"
    print(f"error-rate sums agree (treatment): {fast[0]:.0f} / {fast[1]:.0f}\n")
    raw = [(b.key, [to_raw(e) for e in b.events]) for b in batches]
    parse_s = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        parse_and_ingest(raw)
        parse_s = min(parse_s, time.perf_counter() - t)
    stored = store_rows(batches)
    for name, _, sums in stored:
        assert sums == fast, f"{name}: {sums} != {fast}"
    print("| method | events | seconds | events/s | vs baseline |")
    print("|---|---|---|---|---|")
    rows = [
        ("flagramp WindowIngest (events built)", fast_s),
        ("flagramp parse_batch + WindowIngest (raw dicts)", parse_s),
        *((name, secs) for name, secs, _ in stored),
        ("baseline per-event loop (events built)", slow_s),
    ]
    for name, secs in rows:
        print(
            f"| {name} | {n:,} | {secs:.2f} | {n / secs:,.0f} | {slow_s / secs:.1f}x |"
        )
    profile = cProfile.Profile()
    profile.enable()
    flagramp_ingest(batches)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(10)
    print("\nflagramp profile (top 10 by own time):")
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("\n".join(line[:150] for line in lines[start : start + 11]))
    if not args.no_floods:
        print(flush=True)
        floods = Path(__file__).with_name("ingest_floods.py")
        command = [sys.executable, str(floods), *(["--quick"] if args.quick else [])]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
