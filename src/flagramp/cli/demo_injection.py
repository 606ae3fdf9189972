"""Where the demo injects its regression, for any plan it can simulate.

The VAOS plan's injection is the historical one (Phase III, Stage B: the
error rate of the new VAOS service rises past the plan's limit). Other plans
get the same shape, chosen from the plan: the middle rollout phase's second
stage (its only stage if it has one), and for `errors` the request kind the
first rollback-mode criterion of that stage reads (a pushed ratio whose
numerator is `<kind>_failed`), so that the plan's own criterion is the one
that should catch it. A plan with no rollout phase gets no injection; an
injection the simulated world has nothing for is refused with one line.
"""

from __future__ import annotations

import dataclasses

from flagramp.cli.demo_loop import Injection
from flagramp.cli.output import fail
from flagramp.core.plans import Plan, RolloutPhase
from flagramp.core.plans.criteria import Mode
from flagramp.core.plans.metrics import PushedSource, RatioMetric
from flagramp.sim import World

__all__ = ["describe_injection", "injection_for", "rollout_phases"]

#: The business kind `--inject abandonment` raises (the VAOS world's).
ABANDONMENT = "scheduling_abandoned"
_FAILED = "_failed"


def rollout_phases(plan: Plan) -> list[int]:
    """Indexes of the plan's rollout phases (manual phases move no flag)."""
    return [i for i, p in enumerate(plan.phases) if isinstance(p, RolloutPhase)]


def injection_for(plan: Plan, world: World, base: Injection) -> Injection | None:
    """`base` moved to where it makes sense in `plan` (None: nowhere)."""
    phases = rollout_phases(plan)
    if not phases:
        return None
    phase_index = phases[len(phases) // 2]
    phase = plan.phases[phase_index]
    assert isinstance(phase, RolloutPhase)
    stage_index = 1 if len(phase.stages) > 1 else 0
    chosen = dataclasses.replace(base, phase=phase_index, stage=stage_index)
    if base.kind == "abandonment":
        if ABANDONMENT not in {k.name for k in world.model.business}:
            fail(
                f"--inject abandonment: this plan's simulated world has no "
                f"{ABANDONMENT!r} event; use --inject errors or --no-inject"
            )
        return chosen
    return dataclasses.replace(chosen, target=_failing_kind(plan, phase_index, world))


def _failing_kind(plan: Plan, phase_index: int, world: World) -> str | None:
    """The request kind the stage's first rollback-mode error criterion reads."""
    phase = plan.phases[phase_index]
    assert isinstance(phase, RolloutPhase)
    stage = phase.stages[1 if len(phase.stages) > 1 else 0]
    kinds = {k.name for k in world.model.request_kinds}
    for criterion in stage.criteria:
        if criterion.mode is not Mode.ROLLBACK:
            continue
        metric = plan.metrics.get(getattr(criterion, "metric", ""))
        if (
            isinstance(metric, RatioMetric)
            and isinstance(metric.source, PushedSource)
            and metric.numerator is not None
            and metric.numerator.endswith(_FAILED)
            and metric.numerator[: -len(_FAILED)] in kinds
        ):
            return metric.numerator[: -len(_FAILED)]
    return None


def describe_injection(plan: Plan, injection: Injection | None, world: World) -> str:
    """One line for the summary: what was injected, where and on what."""
    if injection is None:
        return "injected: nothing (a healthy rollout)"
    phase = plan.phases[injection.phase]
    assert isinstance(phase, RolloutPhase)
    stage = phase.stages[injection.stage]
    flag = phase.flags[0]
    if injection.kind == "abandonment":
        what = f"{injection.target or ABANDONMENT} probability +{injection.amount:g}"
    else:
        gated = [k.name for k in world.model.request_kinds if k.flag == flag]
        target = injection.target or (gated[0] if gated else "every request")
        what = f"{target} failures +{injection.amount:.0%} of requests"
    hours = injection.fix_after.total_seconds() / 3600
    return (
        f"injected: {what} for {flag}'s treatment in {phase.name}, {stage.name} "
        f"(fixed {hours:g} h after the run stopped)"
    )
