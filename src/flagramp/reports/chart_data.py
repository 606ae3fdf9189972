"""What the charts draw, from the log and the windows (`model.ChartData`).

Guard series are cumulative over the stage, as the run judged them: each point
merges the stage's windows from its start to the point's time. At most
`MAX_POINTS` points per series, so a day-long stage costs 48 merges, not 1,440.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flagramp.core.plans import (
    AbsoluteCriterion,
    RelativeToControlCriterion,
    RolloutPhase,
    Stage,
    treatment_percentage,
)
from flagramp.core.plans.metrics import QuantileMetric
from flagramp.reports.context import (
    ReportContext,
    minute_after,
    minute_of,
    time_of_minute,
)
from flagramp.reports.model import (
    Band,
    ChartData,
    GuardSeries,
    LatencyPoint,
    LatencySeries,
    Marker,
    SeriesPoint,
    StepPoint,
)
from flagramp.reports.run_log import (
    FLAGS_OFF,
    VOTED,
    of_kind,
    stage_periods,
    text_of,
)
from flagramp.reports.values import PERCENT_KINDS, sums_interval95, sums_value, unit_of
from flagramp.stats.buckets import BucketSums
from flagramp.stats.windows import Lane, Window, merge_all

#: Points per guard series at most.
MAX_POINTS = 48
_HOUR = 60


def chart_data(ctx: ReportContext) -> ChartData:
    """Steps, bands, markers, guard and latency series of the run."""
    steps: list[StepPoint] = []
    bands: list[Band] = []
    latency: dict[str, list[LatencyPoint]] = {}
    per_stage: dict[tuple[int, int], list[Window]] = {}
    for period in stage_periods(ctx.events):
        phase = ctx.plan.phases[period.phase]
        stage = ctx.stage_at(period.phase, period.stage)
        if not isinstance(phase, RolloutPhase) or stage is None:
            continue
        end = period.end or ctx.as_of
        pct = period.percentage
        if pct is None:
            pct = treatment_percentage(phase, stage)
        for flag in phase.flags:
            steps.append(StepPoint(period.start, flag, pct))
            if period.ended_by in FLAGS_OFF:
                steps.append(StepPoint(end, flag, 0.0))
        short = phase.name.split(":")[0]
        bands.append(Band(period.start, end, f"{short} · {stage.name}"))
        where = (period.phase, period.stage)
        windows = ctx.windows(
            phase.flags[0],
            minute_of(period.start),
            minute_after(end),
            ctx.scopes.stage(ctx.record.run, *where, period.start),
        )
        per_stage.setdefault((period.phase, period.stage), []).extend(windows)
        for name, points in _latency(ctx, windows).items():
            latency.setdefault(name, []).extend(points)
    guards: list[GuardSeries] = []
    for (p, s), windows in per_stage.items():
        stage = ctx.stage_at(p, s)
        assert stage is not None
        guards += _guard_series(ctx, (p, s), stage, windows)
    return ChartData(
        steps=tuple(steps),
        bands=tuple(bands),
        markers=_markers(ctx),
        guards=tuple(guards),
        latency=tuple(
            LatencySeries(name, unit_of(ctx.plan.metrics[name]), tuple(points))
            for name, points in sorted(latency.items())
        ),
    )


def _markers(ctx: ReportContext) -> tuple[Marker, ...]:
    out = [
        Marker(
            e.at,
            "decision",
            f"{text_of(e.data, 'answer').capitalize()} ({text_of(e.data, 'role')})",
        )
        for e in of_kind(ctx.events, VOTED)
    ]
    out += [
        Marker(e.at, "incident", e.kind.replace("_", " "))
        for e in of_kind(ctx.events, FLAGS_OFF)
    ]
    return tuple(sorted(out, key=lambda m: (m.at, m.kind, m.label)))


def _guard_series(
    ctx: ReportContext,
    where: tuple[int, int],
    stage: Stage,
    windows: Sequence[Window],
) -> list[GuardSeries]:
    out = []
    for criterion in stage.criteria:
        if not isinstance(criterion, AbsoluteCriterion | RelativeToControlCriterion):
            continue
        metric = ctx.plan.metrics[criterion.metric]
        if isinstance(criterion, AbsoluteCriterion):
            limit = criterion.below if criterion.below is not None else criterion.above
        else:
            limit = None
        points = []
        for cut, on, off in _cumulative(windows, criterion.metric):
            band = sums_interval95(metric, on)
            points.append(
                SeriesPoint(
                    time_of_minute(cut),
                    sums_value(metric, on),
                    band[0] if band else None,
                    band[1] if band else None,
                    sums_value(metric, off),
                )
            )
        if metric.metric_kind in PERCENT_KINDS or points:
            out.append(
                GuardSeries(
                    where[0],
                    where[1],
                    criterion.label,
                    criterion.metric,
                    unit_of(metric),
                    limit,
                    tuple(points),
                )
            )
    return out


def _cumulative(
    windows: Sequence[Window], metric: str
) -> list[tuple[int, BucketSums | None, BucketSums | None]]:
    """(minute, treatment so far, control so far) of one metric's bucket sums,
    at up to MAX_POINTS cuts."""
    if not windows:
        return []
    ordered = sorted(windows, key=lambda w: (w.key.start, w.key.lane))
    first, last = ordered[0].key.start, max(w.key.end for w in ordered)
    step = max(1, math.ceil((last - first) / MAX_POINTS))
    cuts = [*range(first + step, last, step), last]
    out = []
    so_far: dict[Lane, BucketSums] = {}
    i = 0
    for cut in cuts:
        while i < len(ordered) and ordered[i].key.start < cut:
            w = ordered[i]
            agg = w.metrics.get(metric)
            if agg is not None:
                mine = so_far.get(w.key.lane)
                so_far[w.key.lane] = agg.sums if mine is None else mine.merge(agg.sums)
            i += 1
        out.append((cut, so_far.get(Lane.ON), so_far.get(Lane.OFF)))
    return out


def _latency(
    ctx: ReportContext, windows: Sequence[Window]
) -> dict[str, list[LatencyPoint]]:
    names = [n for n, m in ctx.plan.metrics.items() if isinstance(m, QuantileMetric)]
    if not names:
        return {}
    hours: dict[int, list[Window]] = {}
    for w in windows:
        if w.key.lane is Lane.ON:
            hours.setdefault(w.key.start - w.key.start % _HOUR, []).append(w)
    out: dict[str, list[LatencyPoint]] = {}
    for hour, items in sorted(hours.items()):
        merged = merge_all(items)
        for name in names:
            agg = merged.metrics.get(name)
            if agg is None or agg.sketch is None or agg.sketch.count == 0:
                continue
            p50, p95, p99 = (agg.sketch.quantile(q) for q in (0.5, 0.95, 0.99))
            out.setdefault(name, []).append(
                LatencyPoint(time_of_minute(hour), p50, p95, p99)
            )
    return out
