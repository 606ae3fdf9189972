"""Benchmark: peak memory of ingest under floods, capped against uncapped.

    .venv/bin/python bench/ingest_floods.py           # floods of 1,000,000 events
    .venv/bin/python bench/ingest_floods.py --quick   # 100,000
    .venv/bin/python bench/ingest_floods.py --before-src /tmp/before/src
        # also run the cases on another checkout (e.g. `git worktree add
        # /tmp/before <commit>`), with its own WindowIngest and no caps

Cases (issue 18.10), one minute of traffic from 10,000 exposed actors, events
built in batches of 10,000 as they arrive (never all at once):

- fingerprints: every request fails with a fingerprint of its own (ids in messages);
- routes: every request has a route of its own (ids in paths);
- old times: every request is timed in its own past minute, up to 100,000 minutes
  back (timestamps a sender made up).

Modes, each in a fresh process so that its peak memory (ru_maxrss) is its own:

- capped: flagramp as shipped (`WindowIngest` with its default caps and the
  receiver's clock), windows kept open all minute;
- store: the same through `WindowStore.ingest` on SQLite (one transaction a batch);
- uncapped: the baseline in the same run, the same code with the caps lifted
  (10^9) and no receiver's clock, which is how ingest behaved before the caps;
- before: the same cases on `--before-src`, if given.

"idle" is a process that imports flagramp and builds one batch, for reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
ACTORS = 10_000
BATCH = 10_000
CASES = ("fingerprints", "routes", "old times")
LIFTED = 10**9


def batches(case: str, events: int) -> Iterator[tuple[str, list[object]]]:
    """(key, events) of the flood, built one batch at a time."""
    from flagramp.core.events import Exposure, RequestOutcome, Variant

    exposed: list[object] = [
        Exposure(START, f"u{i}", "f", Variant.ON if i % 2 else Variant.OFF)
        for i in range(ACTORS)
    ]
    yield "exposures", exposed
    for start in range(0, events, BATCH):
        out: list[object] = []
        for i in range(start, min(start + BATCH, events)):
            actor = f"u{i % ACTORS}"
            at = START + dt.timedelta(seconds=30 + i * 29 / events)
            if case == "fingerprints":
                e = RequestOutcome(at, actor, "/x", 500, 10.0, error=f"Boom id={i} /x")
            elif case == "routes":
                e = RequestOutcome(at, actor, f"/item/{i}", 200, 10.0)
            else:
                minutes = 61 + i % 100_000
                e = RequestOutcome(
                    START - dt.timedelta(minutes=minutes), actor, "/x", 200, 10.0
                )
            out.append(e)
        yield f"b{start}", out


def run_case(case: str, mode: str, events: int) -> dict[str, object]:
    """One case in this process; what it measured."""
    from flagramp.core.events import EventBatch
    from flagramp.core.metric_kinds import MetricKind
    from flagramp.stats.ingest import MetricSpec, WindowIngest
    from flagramp.stats.windows import to_bytes

    specs = (MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),)
    now = START + dt.timedelta(minutes=1)
    t = time.perf_counter()
    if mode == "idle":
        next(batches(case, min(events, BATCH)))
        return {"seconds": 0.0, "peak_mb": _peak_mb(), "windows": 0}
    if mode == "store":
        return _run_store(case, events, specs, now, t)
    if mode == "capped":
        pipe = WindowIngest("flood", "f", specs)
        clock: dt.datetime | None = now
    elif mode == "uncapped":
        pipe = WindowIngest(
            "flood", "f", specs, fingerprint_cap=LIFTED, breakdown_cap=LIFTED
        )
        clock = None
    else:  # before: another checkout's WindowIngest, whatever its signature
        pipe = WindowIngest("flood", "f", specs)
        clock = None
    for key, part in batches(case, events):
        batch = EventBatch(key, tuple(part))  # type: ignore[arg-type]
        if clock is None:
            pipe.add_batch(batch)
        else:
            pipe.add_batch(batch, received_at=clock)
    windows = pipe.windows()
    sizes = [len(to_bytes(w)) for w in windows]
    return {
        "seconds": time.perf_counter() - t,
        "peak_mb": _peak_mb(),
        "windows": len(windows),
        "largest_window_kb": max(sizes, default=0) / 1024,
        "fingerprints": max((len(w.fingerprints) for w in windows), default=0),
        "breakdown_rows": max((len(w.breakdown) for w in windows), default=0),
    }


def _run_store(
    case: str,
    events: int,
    specs: tuple[object, ...],
    now: dt.datetime,
    t: float,
) -> dict[str, object]:
    from flagramp.core.events import EventBatch
    from flagramp.stats.ingest import BatchIngest
    from flagramp.stats.windows import to_bytes
    from flagramp.store.windows import WindowStore

    with tempfile.TemporaryDirectory() as tmp:
        store = WindowStore.open(f"sqlite:///{Path(tmp) / 'flood.db'}")
        pipe = BatchIngest("flood", "f", specs)  # type: ignore[arg-type]
        for key, part in batches(case, events):
            store.ingest(pipe, EventBatch(key, tuple(part)), received_at=now)  # type: ignore[arg-type]
        windows = store.windows("flood", "f")
        store.engine.dispose()
    sizes = [len(to_bytes(w)) for w in windows]
    return {
        "seconds": time.perf_counter() - t,
        "peak_mb": _peak_mb(),
        "windows": len(windows),
        "largest_window_kb": max(sizes, default=0) / 1024,
        "fingerprints": max((len(w.fingerprints) for w in windows), default=0),
        "breakdown_rows": max((len(w.breakdown) for w in windows), default=0),
    }


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(case: str, mode: str, events: int, src: str | None) -> dict[str, object]:
    """Run one case in a fresh interpreter and read back what it printed."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    command = [
        sys.executable,
        __file__,
        "--child",
        json.dumps([case, mode, events]),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--before-src", help="another checkout's src directory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, mode, events = json.loads(args.child)
        print(json.dumps(run_case(case, mode, events)))
        return
    events = 100_000 if args.quick else args.events
    idle = child("fingerprints", "idle", events, None)
    print(
        f"floods of {events:,} events in one minute from {ACTORS:,} actors, "
        f"batches of {BATCH:,}; idle process: {idle['peak_mb']:.0f} MB\n"
    )
    modes = ["capped", "store", "uncapped"] + (["before"] if args.before_src else [])
    print(
        "| flood | mode | peak MB | seconds | windows | largest window KB "
        "| fingerprints | breakdown rows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for case in CASES:
        for mode in modes:
            src = args.before_src if mode == "before" else None
            r = child(case, mode, events, src)
            if "error" in r:
                print(f"| {case} | {mode} | failed: {r['error']} |||||")
                continue
            print(
                f"| {case} | {mode} | {r['peak_mb']:.0f} | {r['seconds']:.1f} "
                f"| {r['windows']:,} | {r.get('largest_window_kb', 0):,.0f} "
                f"| {r.get('fingerprints', 0):,} | {r.get('breakdown_rows', 0):,} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
