"""Benchmark: the VAOS run's release report, with a month of go-live data.

    .venv/bin/python bench/reports.py            # 400 requests/min (the plan's)
    .venv/bin/python bench/reports.py --quick    # 40 requests/min, a smoke test

The run is the report tests' (`tests/reports/vaos_run.py`): every stage of the
four phases, `--stage-minutes` each, one rollback and re-enable, then go live.
`--live-hours` hours of go-live traffic are simulated, compacted into hour
(`--span day`: day) windows and repeated to fill a month (720 hours), as the
store keeps a long run (minute rows compacted into hours or days). Every
window is written to a SQLite `WindowStore`; the report is made as of 31 days
after go live, so both checkpoints (1 week, 1 month) are reached. Figures,
median of `--repeat`:

  collect   `reports.collect` from the store: read every row, merge, numbers
  charts    `render_charts` (matplotlib, Agg, SVG)
  markdown  `render_markdown`
  html      `render_html` (with the charts inline)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reports.vaos_run import RUN, simulate

from flagramp.reports import (
    collect,
    render_charts,
    render_html,
    render_markdown,
)
from flagramp.stats.windows import DAY, HOUR, Window, compact
from flagramp.store.windows import WindowStore

_T = TypeVar("_T")
MONTH_HOURS = 720
SPANS = {"hour": HOUR, "day": DAY}


def month_of(
    windows: tuple[Window, ...], live_minute: int, span: int = HOUR
) -> list[Window]:
    """The rollout's windows as they are, go live's compacted into `span`
    windows (an hour or a day) and repeated to fill a month."""
    rollout = [w for w in windows if w.key.start < live_minute]
    live = compact([w for w in windows if w.key.start >= live_minute], span)
    if not live:
        return rollout
    first = live[0].key.start
    starts = sorted({w.key.start for w in live})
    out = list(rollout)
    for n in range(MONTH_HOURS * HOUR // span):
        template = starts[n % len(starts)]
        start = first + n * span
        for w in live:
            if w.key.start == template:
                key = dataclasses.replace(w.key, start=start, end=start + span)
                out.append(dataclasses.replace(w, key=key))
    return out


def timed(fn: Callable[[], _T], repeat: int) -> tuple[_T, float]:
    """The result of the last call and the median seconds of `repeat` calls."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    assert result is not None
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 requests/min")
    parser.add_argument("--rpm", type=float, default=None)
    parser.add_argument("--stage-minutes", type=int, default=30)
    parser.add_argument("--live-hours", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--span", choices=("hour", "day"), default="hour", help="go-live rows"
    )
    args = parser.parse_args()
    rpm = args.rpm or (40.0 if args.quick else 400.0)
    users = 20_000 if args.quick else 200_000
    t0 = time.perf_counter()
    run = simulate(
        stage_minutes=args.stage_minutes,
        after_live_minutes=args.live_hours * 60,
        users=users,
        requests_per_minute=rpm,
    )
    simulated = time.perf_counter() - t0
    live_minute = int(run.live_at.timestamp() // 60)
    with tempfile.TemporaryDirectory() as folder:
        store = WindowStore.open(f"sqlite:///{Path(folder) / 'windows.db'}")
        rows = 0
        for flag, windows in run.windows.by_flag.items():
            month = month_of(windows, live_minute, SPANS[args.span])
            rows += len(month)
            store.add_batch(RUN, f"bench-{flag}", month)
        size = (Path(folder) / "windows.db").stat().st_size
        as_of = run.live_at + dt.timedelta(days=31)
        report, t_collect = timed(
            lambda: collect(run.record, store, as_of=as_of), args.repeat
        )
        charts, t_charts = timed(lambda: render_charts(report.charts), args.repeat)
        text, t_md = timed(lambda: render_markdown(report), args.repeat)
        page, t_html = timed(lambda: render_html(report, charts), args.repeat)
        store.engine.dispose()
    assert report.go_live is not None
    week, month_checkpoint = report.go_live.checkpoints
    print(f"traffic: {rpm:g} requests/min, {users:,} users; stages of "
          f"{args.stage_minutes} min; {args.live_hours} h of go-live traffic "
          f"repeated to {MONTH_HOURS} h as {args.span} rows")  # fmt: skip
    print(f"simulated in {simulated:.1f} s; {rows:,} window rows, "
          f"{size / 2**20:.1f} MiB of SQLite")  # fmt: skip
    print(f"checkpoints reached: 1w {week.reached}, 1mo {month_checkpoint.reached}")
    print(f"charts: {len(charts)}; markdown {len(text) / 1024:.0f} KiB; "
          f"html {len(page) / 1024:.0f} KiB")  # fmt: skip
    print(f"median of {args.repeat}:")
    print("| step | seconds |")
    print("|---|---|")
    for name, seconds in (
        ("collect (read, merge, numbers)", t_collect),
        ("charts", t_charts),
        ("markdown", t_md),
        ("html", t_html),
        ("total", t_collect + t_charts + t_md + t_html),
    ):
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
