"""Benchmark: the controller's cost per tick, time to flag off, `make run`.

    .venv/bin/python bench/engine.py          # 1/100/1,000 runs, 60 a stage, demo
    .venv/bin/python bench/engine.py --quick  # 1/10/100 runs, 15 a stage, no demo
    .venv/bin/python bench/engine.py --quick --ticks-only   # the tick cost alone

1. Controller cost per tick: N runs of a three-criterion plan (three ratio
   metrics: errors against control, errors absolute, abandonment absolute),
   each at its first stage (25 %) with an hour of ten-minute windows in its
   attempt's scope, on SQLite; one `Controller.tick()` over all of them (each
   run observed, evaluated, decided; nothing to write). Three figures: the
   first tick of a fresh controller (cold: nothing cached, what a restarted
   controller pays once); a tick with nothing new (best of 3); and a live tick
   (best of 3), each run having received one new minute of windows (both
   lanes) since the last, which is what 1,000 runs checked every minute see.
2. Time from a regression's start to the flag being off: the acceptance plan
   (`tests/engine/acceptance_kit.py`: 5/25/50 %, 2,000 requests a minute, 1 %
   errors doubled in treatment from a stage's start), the machine's rollback
   step being the flag move to 0; the controller looks every 5 minutes. Beside
   it Wald's bound (`stats.wald_sample_size`) for 1 % vs 2 % at the guard's α,
   as treatment requests and as minutes at the stage's share.
3. `make run` wall time: `flagramp demo` in a fresh directory, twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.engine.acceptance_kit import (
    ALPHA,
    BASE_ERROR_RATE,
    REQUESTS_PER_MINUTE,
    _windows,
    run_once,
)

from flagramp.core.clock import VirtualClock
from flagramp.engine.controller import Controller
from flagramp.engine.run_state import RunState
from flagramp.engine.scopes import current_scope
from flagramp.engine.service import RunService
from flagramp.sim import Scenario
from flagramp.stats.sequential import wald_sample_size
from flagramp.stats.windows import Window
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore

ROOT = Path(__file__).resolve().parents[1]
START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
PLAN = """\
name: tick-{n}
title: Controller tick benchmark, run {n}
owner: eng
product_owner: eng
environment: production
roles:
  eng: {{people: [eng@example.org], signs: [go_no_go, re-enable]}}
flags:
  flag_{n}: {{create: true}}
events:
  request: {{kind: request}}
metrics:
  error_rate: {{kind: ratio, numerator: request_failed, denominator: request}}
  failures: {{kind: ratio, numerator: request_failed, denominator: request}}
  abandonment: {{kind: ratio, numerator: request_failed, denominator: request}}
phases:
  - name: rollout
    flags: [flag_{n}]
    stages:
      - name: quarter
        percentage: 25
        hold: 2h
        criteria:
          - {{name: vs_control, kind: relative_to_control, metric: error_rate,
              max_increase: 0.25, mde: 0.75, severity: critical, mode: rollback}}
          - {{name: absolute, kind: absolute, metric: failures, below: 5, mde: 1,
              severity: critical, mode: rollback}}
          - {{name: abandon, kind: absolute, metric: abandonment, below: 20, mde: 5,
              severity: high, mode: pause}}
rollback:
  severities:
    critical: {{action: disable_all}}
    high: {{action: step_back}}
  re-enable: {{approved_by: [eng]}}
"""


def _hour_of_windows() -> list[Window]:
    """An hour at 2,000 requests a minute, 25 % treatment, in 10-minute windows."""
    scenario = Scenario(REQUESTS_PER_MINUTE, 0.25, BASE_ERROR_RATE)
    epoch = int(START.timestamp() // 60)
    out: list[Window] = []
    for m in range(0, 60, 10):
        for w in _windows(3, scenario, m, m + 10, epoch):
            arm = w.metrics["error_rate"]
            metrics = {name: arm for name in ("error_rate", "failures", "abandonment")}
            out.append(dataclasses.replace(w, metrics=metrics))
    return out


@dataclasses.dataclass(frozen=True)
class TickCost:
    """Seconds: setup, the cold first tick, an unchanged tick, a live tick."""

    setup: float
    cold: float
    unchanged: float
    live: float


def _minute_of_windows(minute: int) -> list[Window]:
    """One more minute (both lanes) after the hour, as `_hour_of_windows`."""
    scenario = Scenario(REQUESTS_PER_MINUTE, 0.25, BASE_ERROR_RATE)
    epoch = int(START.timestamp() // 60)
    out = []
    for w in _windows(3, scenario, minute, minute + 1, epoch):
        arm = w.metrics["error_rate"]
        metrics = {name: arm for name in ("error_rate", "failures", "abandonment")}
        out.append(dataclasses.replace(w, metrics=metrics))
    return out


def _timed(controller: Controller, runs: int) -> float:
    t = time.perf_counter()
    report = controller.tick()
    took = time.perf_counter() - t
    assert report.runs == runs and not report.failed, report.failed
    assert not report.applied, report.applied
    return took


def tick_cost(runs: int, windows: list[Window]) -> TickCost:
    """The cost of ticks over `runs` runs (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        clock = VirtualClock(START)
        store = SqlFlagStore.open(f"sqlite:///{tmp}/tick.db", clock=clock)
        store_windows = WindowStore(store.engine)
        service = RunService(store, store_windows, clock)
        began = time.perf_counter()
        scopes: list[str] = []
        for n in range(runs):
            row = service.start(PLAN.format(n=n), person="eng@example.org")
            scope = current_scope(row.id, RunState.from_json(row.state))
            scopes.append(scope)
            flag = f"flag_{n}"
            mine = [
                dataclasses.replace(
                    w, key=dataclasses.replace(w.key, run=scope, flag=flag)
                )
                for w in windows
            ]
            store_windows.add_batch(scope, "hour", mine)
        setup = time.perf_counter() - began
        clock.advance(dt.timedelta(minutes=60))
        controller = Controller(store, store_windows, clock, send=None)
        cold = _timed(controller, runs)
        unchanged = min(_timed(controller, runs) for _ in range(3))
        live = float("inf")
        for k in range(3):
            # Not timed: one new minute of windows for every run.
            fresh = _minute_of_windows(60 + k)
            for n in range(runs):
                scope = scopes[n]
                mine = [
                    dataclasses.replace(
                        w, key=dataclasses.replace(w.key, run=scope, flag=f"flag_{n}")
                    )
                    for w in fresh
                ]
                store_windows.add_batch(scope, f"minute-{k}", mine)
            clock.advance(dt.timedelta(minutes=1))
            live = min(live, _timed(controller, runs))
        store.engine.dispose()
    return TickCost(setup, cold, unchanged, live)


def time_to_off(per_stage: int) -> dict[int, list[int]]:
    """Minutes from the regression's start to the rollback, per starting stage."""
    out: dict[int, list[int]] = {}
    for stage in range(3):
        for k in range(per_stage):
            got = run_once(5000 + 100 * stage + k, stage, tick=5)
            if got.rolled_back_at == stage and got.minutes_to_rollback is not None:
                out.setdefault(stage, []).append(got.minutes_to_rollback)
    return out


def demo_wall() -> list[float]:
    """`flagramp demo` (what `make run` runs) twice, in fresh directories."""
    out = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            subprocess.run(
                [str(ROOT / ".venv/bin/flagramp"), "demo", "--out", tmp],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--ticks-only", action="store_true", help="only the controller's tick cost"
    )
    args = parser.parse_args()
    sizes = (1, 10, 100) if args.quick else (1, 100, 1000)
    windows = _hour_of_windows()
    print("controller tick (SQLite, 3 ratio criteria a run, an hour of windows):")
    for runs in sizes:
        cost = tick_cost(runs, windows)
        figures = "; ".join(
            f"{label} {seconds:.3f} s ({1000 * seconds / runs:.1f} ms a run)"
            for label, seconds in (
                ("cold", cost.cold),
                ("unchanged", cost.unchanged),
                ("live", cost.live),
            )
        )
        print(f"  {runs:>5} runs: {figures}; setup {cost.setup:.1f} s")
    if args.ticks_only:
        return
    print(f"time from regression to flag off (looks every 5 min, α {ALPHA}):")
    shares = (0.05, 0.25, 0.50)
    wald = wald_sample_size(BASE_ERROR_RATE, 2 * BASE_ERROR_RATE, ALPHA)
    per_stage = 15 if args.quick else 60
    for stage, minutes in sorted(time_to_off(per_stage).items()):
        minutes.sort()
        p90 = minutes[min(len(minutes) - 1, int(0.9 * len(minutes)))]
        rate = REQUESTS_PER_MINUTE * shares[stage]
        print(
            f"  stage {stage + 1} ({100 * shares[stage]:g} %): caught "
            f"{len(minutes)}/{per_stage}; median {statistics.median(minutes):g}"
            f" min, p90 {p90} min; Wald bound {wald:.0f} treatment requests ="
            f" {wald / rate:.1f} min"
        )
    if not args.quick:
        first, later = demo_wall()
        print(f"flagramp demo wall time: first {first:.1f} s, later {later:.1f} s")


if __name__ == "__main__":
    main()
