"""Plans into what the statistics run: the bridge between `core.plans` and `stats`.

`core` may not import `stats`, and `stats` does not load the plan models, so the
translation lives here, in the layer that acts on both. Per stage:

- absolute, relative-to-control and relative-to-baseline criteria become
  `stats.RatioGuard`s. Plans write ratios and shares in percent, guards take
  rates: `below: 5` is a limit of 0.05, `mde: 0.5` (points) is 0.005. A percent
  tolerance against the baseline is a fraction of the baseline's rate, known
  only once the baseline is measured: `CompiledRatio.guard_for(reference)`.
- count criteria become `stats.CountLimit`s (scaled by the stage's share when
  the plan says so);
- new-error-class criteria become a `CompiledNovelty`, whose `budget` takes the
  baseline's fingerprint counts unless the plan fixes F;
- the stage's α is split over its acting tests with `stats.split_alpha`; a test
  that does not act is evaluated at the share one more acting test would get;
- the stage's percentage and the phase's holdback give each flag's
  `core.flags.Percentage`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from flagramp.core.flags import Percentage
from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans import (
    AbsoluteCriterion,
    AfterStepBack,
    CountCriterion,
    CountScale,
    Criterion,
    NewErrorClassCriterion,
    Plan,
    RelativeToBaselineCriterion,
    RelativeToControlCriterion,
    RolloutPhase,
    Stage,
    Unit,
    acts,
    is_allow_list_stage,
    treatment_percentage,
)
from flagramp.core.plans.criteria import SPENDS_ALPHA
from flagramp.core.plans.declared_events import EventDecl
from flagramp.core.plans.metrics import (
    PERCENT_KINDS,
    Metric,
    RatioMetric,
    ShareAboveMetric,
)
from flagramp.core.severity import Severity
from flagramp.engine.compiled import (
    CompiledCheck,
    CompiledCount,
    CompiledNovelty,
    CompiledRatio,
    CompiledStage,
    CompileError,
    FlagSetting,
)
from flagramp.stats import (
    Comparison,
    CountLimit,
    Direction,
    RatioGuard,
    split_alpha,
)
from flagramp.stats.ingest import MetricSpec


def compile_plan(plan: Plan) -> tuple[CompiledStage, ...]:
    """Every stage of every rollout phase, in the order they run."""
    return tuple(
        compile_stage(plan, p, s)
        for p, phase in plan.rollout_phases()
        for s in range(len(phase.stages))
    )


def compile_stage(plan: Plan, phase_index: int, stage_index: int) -> CompiledStage:
    """One stage of a valid plan; raises CompileError if a criterion cannot run."""
    phase = plan.phases[phase_index]
    if not isinstance(phase, RolloutPhase):
        raise CompileError(f"phases[{phase_index}]", "a manual phase has no stages")
    stage = phase.stages[stage_index]
    pct = treatment_percentage(phase, stage)
    alphas = _alphas(stage)
    checks = tuple(
        _check(plan, phase, stage, criterion, alphas[i], pct / 100)
        for i, criterion in enumerate(stage.criteria)
    )
    return CompiledStage(
        phase=phase.name,
        stage=stage.name,
        phase_index=phase_index,
        stage_index=stage_index,
        flags=_flag_settings(phase, pct),
        treatment_share=pct / 100,
        allow_list_only=is_allow_list_stage(stage),
        hold=stage.hold,
        max_time=stage.effective_max_time,
        min_sample=stage.min_sample,
        min_requests=stage.min_requests,
        alpha=stage.alpha,
        beta=stage.beta,
        checks=checks,
        go_no_go=stage.go_no_go,
    )


def _flag_settings(phase: RolloutPhase, pct: float) -> tuple[FlagSetting, ...]:
    percentage = Percentage.parse(f"{pct:.3f}".rstrip("0").rstrip("."))
    first = phase.flags[0]
    return tuple(
        FlagSetting(
            flag=flag,
            percentage=percentage,
            bucket_key=first if phase.shared_users else flag,
            eligible=phase.audience.eligible,
            allow_list=phase.audience.allow_list,
        )
        for flag in phase.flags
    )


def _alphas(stage: Stage) -> list[float]:
    # split_alpha over the acting tests; a test that does not act gets the share
    # one more acting test would have (what it would have done, honestly).
    acting = {
        str(i): 1.0
        for i, c in enumerate(stage.criteria)
        if c.kind in SPENDS_ALPHA and acts(stage, c)
    }
    shares = split_alpha(stage.alpha, acting) if acting else {}
    spare = split_alpha(stage.alpha, {**acting, "spare": 1.0})["spare"]
    out: list[float] = []
    for i, c in enumerate(stage.criteria):
        if c.kind not in SPENDS_ALPHA:
            out.append(0.0)
        else:
            out.append(shares.get(str(i), spare))
    return out


def _check(
    plan: Plan,
    phase: RolloutPhase,
    stage: Stage,
    criterion: Criterion,
    alpha: float,
    share: float,
) -> CompiledCheck:
    where = f"{phase.name}/{stage.name}/{criterion.label}"
    acting = acts(stage, criterion)
    if isinstance(criterion, NewErrorClassCriterion):
        if not 0 < share < 1:
            raise CompileError(
                where, f"the new-error rule needs 0 < share < 1, not {share:g}"
            )
        return CompiledNovelty(
            criterion=criterion.label,
            mode=criterion.mode,
            acts=acting,
            alpha=alpha,
            share=share,
            severity=criterion.severity,
            event=criterion.event,
            fingerprints=criterion.fingerprints,
            min_users=criterion.min_users,
        )
    metric = plan.metrics[criterion.metric]
    if isinstance(criterion, CountCriterion):
        return _count(plan, criterion, metric, acting, share)
    return _ratio(where, criterion, metric, acting, alpha, stage.beta)


def _count(
    plan: Plan, criterion: CountCriterion, metric: Metric, acting: bool, share: float
) -> CompiledCount:
    limit = criterion.below
    if criterion.scale is CountScale.SHARE:
        limit = max(1, math.ceil(criterion.below * share))
    return CompiledCount(
        criterion=criterion.label,
        metric=criterion.metric,
        mode=criterion.mode,
        acts=acting,
        limit=CountLimit(criterion.label, limit, criterion.severity),
        environment_level=_actorless(plan.events, metric),
        resets_after_step_back=criterion.after_step_back is AfterStepBack.RESET,
    )


def _actorless(events: Mapping[str, EventDecl], metric: Metric) -> bool:
    event = getattr(metric, "event", None)
    declared = events.get(event) if event else None
    return declared is not None and not declared.actor


def _ratio(
    where: str,
    criterion: AbsoluteCriterion
    | RelativeToControlCriterion
    | RelativeToBaselineCriterion,
    metric: Metric,
    acting: bool,
    alpha: float,
    beta: float,
) -> CompiledRatio:
    kind = metric.metric_kind
    if kind not in PERCENT_KINDS and kind is not MetricKind.MEAN:
        raise CompileError(where, f"a {kind.value} metric cannot be tested")
    # Plans write rates in percent; guards take rates.
    scale = 0.01 if kind in PERCENT_KINDS else 1.0
    proportion = kind in PERCENT_KINDS
    baseline = None
    relative = False
    if isinstance(criterion, AbsoluteCriterion):
        comparison = Comparison.ABSOLUTE
        up = criterion.below is not None
        limit = (criterion.below if up else criterion.above) or 0.0
        limit *= scale
        mde = criterion.mde * scale
    else:
        comparison = (
            Comparison.CONTROL
            if isinstance(criterion, RelativeToControlCriterion)
            else Comparison.BASELINE
        )
        up = criterion.max_increase is not None
        relative = criterion.unit is Unit.PERCENT
        unit_scale = 0.01 if relative else scale
        limit = criterion.tolerance * unit_scale
        mde = criterion.mde * unit_scale
        if isinstance(criterion, RelativeToBaselineCriterion):
            baseline = criterion.baseline
    guard = _guard(
        criterion.label,
        comparison,
        limit,
        mde,
        alpha,
        criterion.severity,
        Direction.HIGHER_IS_WORSE if up else Direction.LOWER_IS_WORSE,
        proportion,
        beta,
    )
    return CompiledRatio(
        criterion=criterion.label,
        metric=criterion.metric,
        mode=criterion.mode,
        acts=acting,
        guard=guard,
        relative=relative,
        baseline=baseline,
    )


def _guard(
    name: str,
    comparison: Comparison,
    limit: float,
    mde: float,
    alpha: float,
    severity: Severity,
    direction: Direction,
    proportion: bool,
    beta: float,
) -> RatioGuard:
    # The one place guards are built; a "healthy" spends the stage's β, unsplit
    # (a stage advances only when every guard is healthy: docs/statistics.md).
    return RatioGuard(
        name,
        comparison,
        limit,
        mde,
        alpha,
        severity,
        direction,
        proportion,
        beta=beta,
    )


def metric_spec(name: str, metric: Metric) -> MetricSpec:
    """What ingest computes for one of the plan's metric definitions."""
    events: tuple[str, ...]
    if isinstance(metric, RatioMetric):
        events = tuple(n for n in (metric.numerator, metric.denominator) if n)
    else:
        event = getattr(metric, "event", None)
        events = (event,) if event else ()
    value = getattr(metric, "value", None)
    threshold = metric.threshold if isinstance(metric, ShareAboveMetric) else None
    return MetricSpec(name, metric.metric_kind, events, value, metric.where, threshold)


def metric_specs(metrics: Mapping[str, Metric]) -> tuple[MetricSpec, ...]:
    """Specs for all of a plan's pushed metrics, in name order."""
    return tuple(
        metric_spec(n, m)
        for n, m in sorted(metrics.items())
        if m.source.kind == "pushed"
    )


__all__ = [
    "CompileError",
    "CompiledCheck",
    "CompiledCount",
    "CompiledNovelty",
    "CompiledRatio",
    "CompiledStage",
    "FlagSetting",
    "compile_plan",
    "compile_stage",
    "metric_spec",
    "metric_specs",
]
