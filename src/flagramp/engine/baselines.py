"""A stage's baselines from the windows before it: what `evaluate_stage` compares with.

A baseline is the metric over the eligible users **not in treatment** (flag off)
in the plan's window before the run or the stage (`core.plans.Baseline`). From
pushed windows that is the off lane's bucket sums, turned into an arm with its
user-level variance (`stats.arm_from_buckets`): a measured rate, not a fixed
one, so the guards count its uncertainty too. The fingerprints seen there (off
lane) are what the new-error rule takes as known, and their counts give its F.

Choosing the window (7 days before the run, or before the stage) is the
caller's: pass the windows of `[start - window, start)`. Metrics read from
Prometheus or Datadog have no windows; their baselines come from the source
(`stats.arm_from_totals`) and are passed to `evaluate_stage` the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from flagramp.engine.compiled import CompiledRatio, CompiledStage
from flagramp.engine.evidence import lane_totals
from flagramp.stats import ArmEstimate, Comparison, arm_from_buckets
from flagramp.stats.windows import Lane, Window

__all__ = ["baseline_arms", "baseline_fingerprints"]


def baseline_arms(
    stage: CompiledStage, windows: Iterable[Window]
) -> dict[str, ArmEstimate]:
    """Criterion -> its metric's off-lane arm over `windows`, for each
    relative-to-baseline criterion of `stage` whose metric has data there."""
    checks = [
        c
        for c in stage.checks
        if isinstance(c, CompiledRatio) and c.guard.comparison is Comparison.BASELINE
    ]
    off = lane_totals(
        (w for w in windows if w.key.lane is Lane.OFF),
        metrics={c.metric for c in checks},
    ).get(Lane.OFF)
    out: dict[str, ArmEstimate] = {}
    for check in checks:
        sums = None if off is None else off.metric(check.metric)
        if sums is not None and sums.total_denominator > 0:
            out[check.criterion] = arm_from_buckets(sums)
    return out


def baseline_fingerprints(windows: Iterable[Window]) -> dict[str, int]:
    """Fingerprint -> how often users not in treatment hit it in `windows`."""
    counts: dict[str, int] = {}
    for w in windows:
        if w.key.lane is Lane.OFF:
            for name, stats in w.fingerprints.items():
                counts[name] = counts.get(name, 0) + stats.count
    return counts
