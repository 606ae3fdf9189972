"""The go-live scope in the window store: opened, compacted, read for a checkpoint.

From go live on, every flag of the run has the ingest scope `<run>/go-live`
(`go_live_schedule.go_live_scope`); `RunService.push_events` routes the flags'
events there and the controller opens it at the step with `went_live`.

A month of minute windows is 43,200 rows per flag and lane, so the controller
compacts the scope as it ages: minutes into hours once an hour has passed
(`HOUR_LAG`, for late events), hours into days once a day has. A late minute
after that lands beside its hour row and is merged into it by the next pass
(`WindowStore.compact` merges into the row with the same key).

Events without an actor (seed 000's contact-center calls) never reach a flag's
windows. Their environment-level counts, when a source has them, are kept in
the same scope under the pseudo flag `ENVIRONMENT_FLAG`: one window per span whose
count metrics carry the events in bucket 0 (`environment_window`). They merge and
compact like any window, and `environment_counts` sums them over a checkpoint's
span for `compute_checkpoint`'s `environment_counts`.

Whoever writes a run's step (the controller, or `RunService` for a person's
command) calls `after_step`: it opens the scope at go live, and when the run
completes compacts the scope whole and closes it (no more events come; the
actor states are dropped, the windows stay).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans import Plan
from flagramp.engine.go_live_schedule import go_live_scope, run_flags
from flagramp.engine.run_context import RunContext
from flagramp.engine.run_state import RunStatus
from flagramp.engine.steps import Step
from flagramp.stats.buckets import BucketSums
from flagramp.stats.sketches import DistinctActors
from flagramp.stats.windows import DAY, HOUR, Lane, MetricAggregate, Window, WindowKey
from flagramp.store.windows import WindowStore

__all__ = [
    "DAY_LAG",
    "ENVIRONMENT_FLAG",
    "GO_LIVE_EVENTS",
    "HOUR_LAG",
    "actorless_metrics",
    "after_step",
    "compact_scope",
    "environment_counts",
    "environment_window",
    "open_scopes",
    "scope_flags",
    "went_live",
]

#: The pseudo flag whose windows hold a scope's environment-level counts.
#: Parentheses cannot start a flag key, so no real flag is ever this one.
ENVIRONMENT_FLAG = "(environment)"
#: Minutes a minute window is left alone before it goes into its hour: events
#: may come in late.
HOUR_LAG = 60
#: Minutes before an hour window goes into its day.
DAY_LAG = DAY
#: The machine's events after which the go-live scope takes the run's events.
GO_LIVE_EVENTS = frozenset({"went_live", "live_again"})


def went_live(step: Step) -> bool:
    """Whether the step is the run's go live (or its return to live)."""
    return any(e.kind in GO_LIVE_EVENTS for e in step.events)


def after_step(
    windows: WindowStore, context: RunContext, step: Step, minute: int
) -> None:
    """The go-live scope's part of a step just written (see the module doc)."""
    if went_live(step):
        open_scopes(windows, context.run, context.plan, context.environment)
    if step.state.status is RunStatus.COMPLETED and step.state.go_live is not None:
        scope = go_live_scope(context.run)
        flags = scope_flags(context.plan)
        # As of a day past the next day boundary: every window, whole.
        compact_scope(windows, scope, flags, minute + 2 * DAY_LAG)
        for flag in flags:
            windows.close_scope(scope, flag)


def scope_flags(plan: Plan) -> tuple[str, ...]:
    """The flag keys of the go-live scope: every flag of the run, then the
    environment's pseudo flag."""
    return (*run_flags(plan), ENVIRONMENT_FLAG)


def open_scopes(
    windows: WindowStore, run: str, plan: Plan, environment: str
) -> tuple[str, ...]:
    """Open `<run>/go-live` for every flag of the run (idempotent); the flags."""
    scope = go_live_scope(run)
    flags = run_flags(plan)
    for flag in flags:
        windows.open_scope(scope, flag, environment)
    return flags


def compact_scope(
    windows: WindowStore, scope: str, flags: Iterable[str], minute: int
) -> int:
    """Compact the scope's windows as of epoch minute `minute`: minutes into
    hours `HOUR_LAG` after the hour, hours into days `DAY_LAG` after the day.
    Returns how many rows were replaced."""
    replaced = 0
    for flag in flags:
        replaced += windows.compact(scope, flag, HOUR, minute - HOUR_LAG)
        replaced += windows.compact(scope, flag, DAY, minute - DAY_LAG)
    return replaced


def actorless_metrics(plan: Plan) -> tuple[str, ...]:
    """The plan's count metrics over events declared `actor: false`."""
    found = []
    for name, metric in plan.metrics.items():
        events = metric.event_names()
        decls = [plan.events.get(e) for e in events]
        if decls and all(d is not None and not d.actor for d in decls):
            found.append(name)
    return tuple(found)


def environment_window(
    scope: str, start: int, end: int, counts: Mapping[str, float]
) -> Window:
    """One window of environment-level counts over [start, end): each metric's
    events in bucket 0 of its numerator (one bucket: there are no users)."""
    metrics = {
        name: MetricAggregate(
            MetricKind.COUNT, BucketSums(np.array([float(n)]), np.zeros(1))
        )
        for name, n in counts.items()
    }
    key = WindowKey(scope, ENVIRONMENT_FLAG, Lane.ON, start, end)
    return Window(key, BucketSums.zeros(1), DistinctActors(), metrics, {}, {})


def environment_counts(
    windows: WindowStore, scope: str, plan: Plan, start: int, end: int
) -> dict[str, float] | None:
    """Each actorless metric's environment-level count over the windows of
    [start, end) (overlapping windows whole, as `compute_checkpoint` takes
    them); None when the scope holds no such windows (then the checkpoint says
    there was no count rather than report zero)."""
    names = actorless_metrics(plan)
    if not names:
        return None
    found = [
        w
        for w in windows.windows(scope, ENVIRONMENT_FLAG)
        if w.key.start < end and w.key.end > start
    ]
    if not found:
        return None
    totals = dict.fromkeys(names, 0.0)
    for window in found:
        for name in names:
            aggregate = window.metrics.get(name)
            if aggregate is not None:
                totals[name] += aggregate.sums.total_numerator
    return totals
