"""Benchmark: one stage's windows into a `StageEvaluation` (`engine.evaluate_stage`).

    .venv/bin/python bench/evaluate_stage.py

The controller evaluates every running stage every minute; 1,000 runs a minute
on one core leave 60 ms a stage. The windows are two hours (120 one-minute
windows per lane) of the VAOS example's traffic (`flagramp.sim.examples.vaos_world`,
400 requests/minute) with its first toggle at Stage B's 25 %, through the real
ingest. Timed on them, each the best of 30 calls (the machine is shared):

- the plan's Stage B: abandonment and errors (absolute ratio guards) and
  contact-center calls (a count): 3 metrics;
- the same with a third ratio guard (abandonment against control) and a new
  error class rule: the heaviest stage the example plans write;
- the parts: summing the lanes (`engine.evidence.lane_totals`) and one ratio guard;
- a day's hold, as 2,880 minute windows (two lanes) and as the 48 hour windows
  `stats.windows.compact` makes of them.
"""

from __future__ import annotations

import dataclasses
import time
import timeit
from collections.abc import Callable
from pathlib import Path

from flagramp.core.plans import Mode, load_plan
from flagramp.core.severity import Severity
from flagramp.engine.compile import compile_stage, metric_specs
from flagramp.engine.compiled import CompiledNovelty, CompiledRatio, CompiledStage
from flagramp.engine.evaluate import evaluate_stage
from flagramp.engine.evidence import lane_totals
from flagramp.sim import FlagState, span_batches
from flagramp.sim.examples import VAOS_FLAGS, vaos_world
from flagramp.stats import Comparison, RatioGuard, arm_from_buckets
from flagramp.stats.guards import evaluate_ratio_guard
from flagramp.stats.ingest import WindowIngest
from flagramp.stats.windows import HOUR, Lane, Window, compact

Subset = dict[str, list[Window]]

START = 29_459_520 + 600  # Monday 2026-01-05 10:00 UTC, in epoch minutes
MINUTES = 120
PLAN = (
    Path(__file__).absolute().parents[1] / "examples" / "vaos-service-integration.yaml"
)


def best_ms(f: Callable[[], object], repeat: int = 30) -> float:
    """The fastest of `repeat` calls, in milliseconds of this process's CPU time
    (wall time on a shared machine measures the neighbours)."""
    timer = time.process_time
    return min(timeit.repeat(f, number=1, repeat=repeat, timer=timer)) * 1000.0


def main() -> None:
    plan = load_plan(PLAN.read_text(encoding="utf-8"), PLAN.name).plan
    phase = next(p for p, _ in plan.rollout_phases())
    stage = compile_stage(plan, phase, 1)
    flag = stage.flags[0].flag
    scope = WindowIngest("bench/stage-b", flag, metric_specs(plan.metrics))
    states = [FlagState(f, 25.0 if f == flag else 0.0) for f, _ in VAOS_FLAGS]
    for batch in span_batches(7, vaos_world(), START, START + MINUTES, states):
        scope.add_batch(batch)
    windows = scope.windows()
    lanes = {w.key.lane for w in windows}
    print(f"{len(windows)} windows ({len(windows) // len(lanes)} per lane)")
    heavy = dataclasses.replace(
        stage,
        checks=(
            *stage.checks,
            CompiledRatio(
                "abandonment_vs_control", "abandonment_rate", Mode.PAUSE, True,
                RatioGuard("abandonment_vs_control", Comparison.CONTROL, 0.02, 0.03,
                           0.0125),
            ),
            CompiledNovelty(
                "new_error_class", Mode.ROLLBACK, True, 0.0125, 0.25,
                Severity.CRITICAL, None, None, 3,
            ),
        ),
    )  # fmt: skip
    last = START + MINUTES - 1
    for name, s in (("plan's stage B (3 metrics)", stage), ("heavy stage", heavy)):
        for minutes in (10, 60, 120):
            subset = {flag: [w for w in windows if w.key.start < START + minutes]}
            m = START + minutes - 1

            def call(s: CompiledStage = s, sub: Subset = subset, m: int = m) -> None:
                evaluate_stage(s, sub, minute=m, started=START)

            print(f"{name:28} {minutes:4} min: {best_ms(call):6.2f} ms")
    totals = lane_totals(windows)
    sums_ms = best_ms(lambda: lane_totals(windows))
    print(f"{'lane_totals':28} {MINUTES:4} min: {sums_ms:6.2f} ms")
    errors = next(c for c in stage.checks if isinstance(c, CompiledRatio))
    arm = arm_from_buckets(totals[Lane.ON].metrics[errors.metric])
    guard_ms = best_ms(lambda: evaluate_ratio_guard(errors.guard, arm))
    print(f"{'one ratio guard':28} {MINUTES:4} min: {guard_ms:6.2f} ms")
    # A day's hold (Stage B's): the two hours repeated 12 times, as minutes and
    # as the hour windows `stats.windows.compact` makes of them.
    day = [
        dataclasses.replace(w, key=dataclasses.replace(
            w.key, start=w.key.start + k * MINUTES, end=w.key.end + k * MINUTES))
        for k in range(12)
        for w in windows
    ]  # fmt: skip
    hours = compact(day, HOUR)
    end = START + 12 * MINUTES - 1
    for label, ws in (
        ("a day of minute windows", day),
        ("a day of hour windows", list(hours)),
    ):

        def hold(ws: list[Window] = ws) -> None:
            evaluate_stage(stage, {flag: ws}, minute=end, started=START)

        print(f"{label:28} {len(ws):5} windows: {best_ms(hold, repeat=10):6.2f} ms")
    full = best_ms(lambda: evaluate_stage(stage, {flag: windows}, minute=last,
                                          started=START))  # fmt: skip
    print(f"1,000 runs of stage B a minute: {full:.1f} s of one core per minute")


if __name__ == "__main__":
    main()
