"""A stage's results: criteria, treatment vs control, users, statuses, errors.

Numbers come from the windows of the phase's first flag over every period the
stage ran (a stage entered again after a step back adds a period); decisions and
intervals from the run's last recorded check of the criterion. A criterion's
value is taken over the last period only, the one its decision was made on: a
value over every period (a rolled-back hour of injected errors included) beside
the last attempt's interval and decision contradicted it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from flagramp.core.plans import (
    AbsoluteCriterion,
    CountCriterion,
    Criterion,
    NewErrorClassCriterion,
    RelativeToBaselineCriterion,
    RelativeToControlCriterion,
    RolloutPhase,
    Stage,
    treatment_share,
)
from flagramp.core.plans.metrics import QuantileMetric
from flagramp.core.types import Json
from flagramp.reports.context import (
    ReportContext,
    json_float,
    minute_after,
    minute_of,
    normal_question,
)
from flagramp.reports.model import (
    AnswerRow,
    CriterionResult,
    DataHealthRow,
    FingerprintRow,
    Given,
    LatencyRow,
    MetricComparison,
    Pending,
    Period,
    SampleRatio,
    StageResults,
    StatusRow,
)
from flagramp.reports.run_log import StagePeriod, last_checks, last_health
from flagramp.reports.values import (
    PERCENT_KINDS,
    Lanes,
    interval95,
    metric_value,
    minutes_with_data,
    quantile,
    status_counts,
    unit_of,
    users,
)
from flagramp.stats.srm import SRM_THRESHOLD, check_sample_ratio, srm_statistic
from flagramp.stats.windows import Window


def stage_results(
    ctx: ReportContext,
    phase: RolloutPhase,
    index: tuple[int, int],
    stage: Stage,
    periods: Sequence[StagePeriod],
) -> StageResults:
    """The results of a stage that ran in `periods`."""
    flag = phase.flags[0]
    spans = [_span(ctx, p) for p in periods]
    per_period = [
        ctx.windows(
            flag,
            minute_of(start),
            minute_after(end),
            ctx.scopes.stage(ctx.record.run, *index, start),
        )
        for start, end, _ in spans
    ]
    windows = [w for period in per_period for w in period]
    lanes = Lanes.of(windows)
    judged = Lanes.of(per_period[-1]) if len(spans) > 1 else lanes
    checks = last_checks(ctx.located, ctx.state, *index)
    minutes = sum(minute_after(end) - minute_of(start) for start, end, _ in spans)
    return StageResults(
        periods=tuple(Period(s, e, by) for s, e, by in spans),
        treatment_users=users(lanes.on),
        control_users=users(lanes.off),
        allow_listed_users=users(lanes.allow_listed),
        criteria=tuple(_criterion(ctx, c, judged, checks) for c in stage.criteria),
        metrics=_metrics(ctx, stage, lanes),
        requests_by_status=_statuses(lanes),
        latency=_latency(ctx, lanes),
        fingerprints=fingerprint_rows(lanes.on, lanes.off),
        sample_ratio=_sample_ratio(phase, stage, lanes),
        data_health=DataHealthRow(
            minutes, minutes_with_data(windows), _health(ctx, index)
        ),
        answers=_answers(ctx, stage, index, lanes),
        criteria_period=Period(*spans[-1]) if len(spans) > 1 else None,
    )


def _span(
    ctx: ReportContext, period: StagePeriod
) -> tuple[dt.datetime, dt.datetime, str]:
    end = period.end if period.end is not None else ctx.as_of
    return period.start, end, period.ended_by or "as of"


def _criterion(
    ctx: ReportContext,
    criterion: Criterion,
    lanes: Lanes,
    checks: Mapping[str, Mapping[str, Json]],
) -> CriterionResult:
    recorded = checks.get(criterion.label)
    decision, evidence = _decision(recorded)
    if isinstance(criterion, NewErrorClassCriterion):
        new = [f for f in fingerprint_rows(lanes.on, lanes.off) if not f.in_control]
        return CriterionResult(
            criterion.label,
            criterion.rule(),
            criterion.severity.value,
            criterion.mode.value,
            None,
            "fingerprints",
            float(len(new)),
            0.0,
            None,
            "a count of fingerprints",
            decision,
        )
    metric = ctx.plan.metrics[criterion.metric]
    name = criterion.metric
    unit = unit_of(metric)
    treatment = metric_value(metric, lanes.on, name)
    control = metric_value(metric, lanes.off, name)
    value, limit = treatment, _limit(criterion)
    if isinstance(criterion, RelativeToControlCriterion):
        value = None if treatment is None or control is None else treatment - control
    scale = 100.0 if metric.metric_kind in PERCENT_KINDS else 1.0
    interval: tuple[float, float] | None = None
    kind = "a count of events"
    if evidence is not None and not isinstance(criterion, CountCriterion):
        low, high = json_float(evidence, "lower"), json_float(evidence, "upper")
        if low is not None and high is not None:
            interval, kind = (low * scale, high * scale), "always-valid, from the run"
    if interval is None and not isinstance(criterion, CountCriterion):
        if isinstance(criterion, AbsoluteCriterion):
            interval = interval95(metric, lanes.on, name)
        kind = "95 % (fixed-sample, at the stage's end)" if interval else "none"
    return CriterionResult(
        criterion.label,
        criterion.rule(),
        criterion.severity.value,
        criterion.mode.value,
        name,
        unit,
        value,
        limit,
        interval,
        kind,
        decision,
        control,
    )


def _limit(criterion: Criterion) -> float | None:
    if isinstance(criterion, AbsoluteCriterion):
        return criterion.below if criterion.below is not None else criterion.above
    if isinstance(criterion, CountCriterion):
        return float(criterion.below)
    if isinstance(criterion, RelativeToControlCriterion | RelativeToBaselineCriterion):
        return criterion.tolerance
    return None


def _decision(
    recorded: Mapping[str, Json] | None,
) -> tuple[Given, Mapping[str, Json] | None]:
    if recorded is None:
        return Pending("no decision recorded by the run"), None
    decision = recorded.get("decision")
    if not isinstance(decision, dict):
        return Pending("no decision recorded by the run"), None
    outcome = decision.get("outcome")
    evidence = decision.get("evidence")
    text = outcome if isinstance(outcome, str) else "unknown"
    severity = decision.get("severity")
    if text == "harmful" and isinstance(severity, str):
        text = f"harmful ({severity})"
    return text, evidence if isinstance(evidence, dict) else None


def _metrics(
    ctx: ReportContext, stage: Stage, lanes: Lanes
) -> tuple[MetricComparison, ...]:
    names = list(stage.record.metrics)
    for criterion in stage.criteria:
        subject = getattr(criterion, "metric", None)
        if isinstance(subject, str) and subject not in names:
            names.append(subject)
    rows = []
    for name in names:
        metric = ctx.plan.metrics.get(name)
        if metric is None:
            continue
        rows.append(
            MetricComparison(
                name,
                metric.description or name,
                unit_of(metric),
                metric_value(metric, lanes.on, name),
                metric_value(metric, lanes.off, name),
            )
        )
    return tuple(rows)


def _statuses(lanes: Lanes) -> tuple[StatusRow, ...]:
    on, off = status_counts(lanes.on), status_counts(lanes.off)
    return tuple(
        StatusRow(name, status, on.get((name, status), 0), off.get((name, status), 0))
        for name, status in sorted(set(on) | set(off))
    )


def _latency(ctx: ReportContext, lanes: Lanes) -> tuple[LatencyRow, ...]:
    rows = []
    for name, metric in sorted(ctx.plan.metrics.items()):
        if not isinstance(metric, QuantileMetric):
            continue
        for lane, window in (("treatment", lanes.on), ("control", lanes.off)):
            agg = None if window is None else window.metrics.get(name)
            if agg is None or agg.sketch is None:
                continue
            rows.append(
                LatencyRow(
                    name,
                    lane,
                    round(agg.sketch.count),
                    quantile(agg, 0.5),
                    quantile(agg, 0.95),
                    quantile(agg, 0.99),
                )
            )
    return tuple(rows)


def fingerprint_rows(
    on: Window | None, off: Window | None, limit: int = 10
) -> tuple[FingerprintRow, ...]:
    """The treatment's most frequent error fingerprints, with first seen."""
    if on is None:
        return ()
    seen_off = set(off.fingerprints) if off is not None else set()
    ranked = sorted(on.fingerprints.items(), key=lambda kv: (-kv[1].count, kv[0]))
    return tuple(
        FingerprintRow(
            name,
            stats.count,
            stats.actors.estimate(),
            dt.datetime.fromtimestamp(stats.first_seen, dt.UTC),
            tuple(
                f"{s.route} {s.status} {s.latency_ms:g} ms {s.device}"
                for s in stats.samples
            ),
            name in seen_off,
        )
        for name, stats in ranked[:limit]
    )


def _sample_ratio(
    phase: RolloutPhase, stage: Stage, lanes: Lanes
) -> SampleRatio | None:
    share = treatment_share(phase, stage)
    if not 0 < share < 1:
        return None
    return sample_ratio_of(users(lanes.on), users(lanes.off), share)


def sample_ratio_of(treatment: float, control: float, share: float) -> SampleRatio:
    """The sample-ratio line's figures for users per arm at `share` (0 < share
    < 1): the χ² look, and the run's own decision on these counts, as
    `engine.health.sample_ratio` makes it (the always-valid test at
    `SRM_THRESHOLD`), not `p < SRM_THRESHOLD`."""
    counts, shares = (control, treatment), (1 - share, share)
    chi2, p = srm_statistic(counts, shares)
    total = treatment + control
    mismatch = total > 0 and check_sample_ratio(counts, shares).is_harmful
    return SampleRatio(
        treatment,
        control,
        share,
        treatment / total if total else None,
        chi2,
        p,
        mismatch,
        SRM_THRESHOLD,
    )


def _health(ctx: ReportContext, index: tuple[int, int]) -> Given:
    reason = last_health(ctx.located, ctx.state, *index)
    if reason is None:
        return Pending("no evaluation recorded by the run")
    return reason or "healthy at the last evaluation"


def _answers(
    ctx: ReportContext, stage: Stage, index: tuple[int, int], lanes: Lanes
) -> tuple[AnswerRow, ...]:
    given = ctx.answers(index)
    rows = []
    for question in stage.record.questions:
        event = given.get(normal_question(question.text))
        if event is not None:
            text = str(event.data.get("text") or event.data.get("answer") or "")
            rows.append(AnswerRow(question.text, text, event.actor, event.at))
        elif question.query and question.query in ctx.plan.metrics:
            metric = ctx.plan.metrics[question.query]
            value = metric_value(metric, lanes.on, question.query)
            shown = "no data" if value is None else f"{value:g} {unit_of(metric)}"
            rows.append(AnswerRow(question.text, shown.strip(), "the windows"))
        elif question.answer:
            rows.append(AnswerRow(question.text, question.answer, "the plan"))
        else:
            rows.append(
                AnswerRow(
                    question.text,
                    ctx.pending("not answered yet", question.answered_by),
                )
            )
    return tuple(rows)
