"""Baselines of relative-to-baseline criteria whose metric Prometheus or Datadog holds.

Pushed metrics take their baseline from the windows before the phase
(`engine.baselines`). A metric read from a source has no windows: its
baseline is read from the same source, with the plan's own query, over the
criterion's baseline window (`core.plans.Baseline`):

- `before: run`: the `window` before the run's first flag change (the
  earliest stage entry the run's state records);
- `before: stage`: the `window` before the evaluated stage attempt began
  (`RunState.stage_entered_at`).

The baseline is the `off` variant's totals over that span (the users not in
treatment), an arm with φ from its own per-step totals (`lane_arms`), exactly
as the stage's arms are made.

**Read once.** The span lies in the past and is fixed by the run's state, so
its totals do not change: `SourceBaselines` keeps each arm in memory, keyed by
run, source kind, query and span, and reads it again only when one of those
changes. Nothing is written to the run's state: a restarted controller reads
the same span again (a deterministic re-read) and gets the same baseline, as
long as the source still keeps that span's data (Prometheus's retention must
cover the window).

**Whole totals.** A 7-day span at one-minute steps is 10,080 points, past
Prometheus's 11,000-point limit with the margin `SourceHealth` keeps
(`MAX_POINTS`). Growing the step, as the stage's reads do, would make a query
written for `[1m]` sum one minute of each step: a sample of the totals. The
baseline instead reads the span in consecutive pieces of at most `MAX_POINTS`
one-minute steps, and keeps of each piece only the points inside it (the
backends include a range's end), so every minute is counted once.

**Failures.** A source that fails (raises, answers garbage, does not answer in
time, or is not configured) leaves the criterion without a baseline
(inconclusive) and is a failure of that source kind from the first tick it
failed, which the evaluation's data health turns into a data gap after the
grace period: "source prometheus failed reading the baseline of api_error_rate
(…), no data since 10:01". A failed read is tried again at the next tick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from flagramp.core.plans.criteria import BaselineFrom
from flagramp.engine.compiled import CompiledRatio, CompiledStage
from flagramp.engine.machine import RunContext
from flagramp.engine.run_records import opt_when
from flagramp.engine.run_state import RunState
from flagramp.engine.scopes import epoch_minute
from flagramp.engine.source_health import (
    MAX_POINTS,
    STEP,
    SourceHealth,
    lane_arms,
)
from flagramp.sources.base import ExternalQuery, MetricQuery, Point, Reading
from flagramp.sources.config import not_configured
from flagramp.stats import Comparison
from flagramp.stats.estimates import ArmEstimate
from flagramp.stats.windows import Lane

__all__ = [
    "BaselineReads",
    "SourceBaselines",
    "baseline_span",
    "pieces",
    "run_started_at",
]

#: (run, source kind, query, span start, span end): one baseline read.
_Key = tuple[str, str, ExternalQuery, dt.datetime, dt.datetime]


@dataclass(frozen=True, slots=True)
class BaselineReads:
    """The source-read baselines of a stage's relative-to-baseline criteria."""

    arms: dict[str, ArmEstimate] = field(default_factory=dict)
    """Criterion -> the baseline's arm (absent: none measured)."""
    failures: dict[str, int] = field(default_factory=dict)
    """Source kind -> the epoch minute its baseline reads began failing."""
    problems: dict[str, str] = field(default_factory=dict)
    """Source kind -> what went wrong, in words."""


def run_started_at(state: RunState) -> dt.datetime | None:
    """When the run first changed its flags: its earliest stage entry."""
    entries = [
        at
        for result in state.stage_results
        if (at := opt_when(result, "entered_at")) is not None
    ]
    if state.stage_entered_at is not None:
        entries.append(state.stage_entered_at)
    return min(entries, default=None)


def baseline_span(
    check: CompiledRatio, state: RunState
) -> tuple[dt.datetime, dt.datetime] | None:
    """[start, end) of `check`'s baseline window for the run in `state`, on
    whole minutes (None: the run has not changed a flag yet)."""
    if check.baseline is None:
        return None
    end = (
        run_started_at(state)
        if check.baseline.before is BaselineFrom.RUN
        else state.stage_entered_at
    )
    if end is None:
        return None
    # Whole minutes: a restarted controller asks for the very same span.
    end = dt.datetime.fromtimestamp(epoch_minute(end) * 60, dt.UTC)
    return end - check.baseline.window.delta, end


def pieces(
    start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """[start, end) in consecutive spans of at most MAX_POINTS steps."""
    longest = STEP * MAX_POINTS
    at = start
    while at < end:
        upto = min(end, at + longest)
        yield at, upto
        at = upto


class SourceBaselines:
    """Reads and keeps the baselines of source-backed metrics (see module)."""

    def __init__(self, health: SourceHealth) -> None:
        self.health = health
        self._arms: dict[_Key, ArmEstimate | None] = {}
        #: A failed read -> the epoch minute it began failing.
        self._failing: dict[_Key, int] = {}

    def read(
        self,
        context: RunContext,
        stage: CompiledStage,
        state: RunState,
        now: dt.datetime,
        failing: Collection[str] = (),
    ) -> BaselineReads:
        """The baseline of each relative-to-baseline criterion of `stage`
        whose metric a source holds, read once per span. Kinds in `failing`
        (their stage reads failed this tick) are not asked again: a hung
        source would hold the tick up twice."""
        reads = BaselineReads()
        external = {
            metric: (kind, query)
            for kind, queries in self.health.queries(context, stage).items()
            for metric, query in queries.items()
        }
        for check in stage.checks:
            if not (
                isinstance(check, CompiledRatio)
                and check.guard.comparison is Comparison.BASELINE
                and check.metric in external
            ):
                continue
            span = baseline_span(check, state)
            if span is None:
                continue
            kind, query = external[check.metric]
            key: _Key = (context.run, kind, query, *span)
            if key not in self._arms:
                if kind in failing:
                    continue
                problem = self._fetch(key, check.metric)
                if problem is not None:
                    since = self._failing.setdefault(key, epoch_minute(now))
                    if kind not in reads.failures:
                        reads.failures[kind] = since
                        reads.problems[kind] = (
                            f"failed reading the baseline of {check.metric} ({problem})"
                        )
                    continue
                self._failing.pop(key, None)
            arm = self._arms[key]
            if arm is not None:
                reads.arms[check.criterion] = arm
        return reads

    def forget_except(self, runs: Collection[str]) -> None:
        """Drop the baselines of runs not in `runs` (ended, or gone)."""
        keep = set(runs)
        for cache in (self._arms, self._failing):
            for key in [k for k in cache if k[0] not in keep]:
                del cache[key]

    def _fetch(self, key: _Key, metric: str) -> str | None:
        """Read the span piece by piece into `_arms[key]`; None, or what went
        wrong (nothing is kept then)."""
        _run, kind, external, start, end = key
        source = self.health.sources.get(kind)
        if source is None:
            return not_configured(kind)
        points: list[Point] = []
        name = kind
        for a, b in pieces(start, end):
            query = MetricQuery(metric, a, b, STEP, external)
            answer, problem = self.health.read_one(source, query)
            if answer is None:
                return problem
            name = answer.source
            # The backends include the range's end: the next piece has it.
            points.extend(p for p in answer.points if a <= p.at < b)
        reading = Reading(name, metric, tuple(points), per_user=False)
        self._arms[key] = lane_arms(reading, Lane.ON).get(Lane.OFF)
        return None
