"""How a plan runs: the rules an engine follows, as pure functions of the model.

docs/plans.md ("How a plan runs") states these rules in words; this module is
where they are computed, so that the engine, the linter, the timeline and the
compiler agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from flagramp.core.plans.criteria import SPENDS_ALPHA, Criterion, Mode
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGo
from flagramp.core.plans.phases import RolloutPhase
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.rollback import ResumeAt
from flagramp.core.plans.stages import Stage

_MILLI = Decimal("0.001")


def treatment_percentage(phase: RolloutPhase, stage: Stage) -> float:
    """The flags' percentage of actors at a stage (within the eligible segment).

    The stage's percentage of the eligible users who are not held back, in
    three decimals, rounded down so that treatment never exceeds the plan:
    25 % with a 5 % holdback is 23.75.
    """
    kept = (Decimal(100) - Decimal(repr(phase.holdback))) / Decimal(100)
    exact = Decimal(repr(stage.percentage)) * kept
    return float(exact.quantize(_MILLI, rounding=ROUND_DOWN))


def treatment_share(phase: RolloutPhase, stage: Stage) -> float:
    """Share (0–1) of the eligible, randomised users who get the flags."""
    return treatment_percentage(phase, stage) / 100


def is_allow_list_stage(stage: Stage) -> bool:
    """True for a UAT stage: 0 %, only the phase's allow list has the flags."""
    return stage.percentage == 0


def acts(stage: Stage, criterion: Criterion) -> bool:
    """True if a failure of the criterion acts (pauses or rolls back) by itself.

    Observe-mode criteria never act; nor does anything at a UAT stage, where
    criteria are computed over the allow-listed users for the go/no-go to see.
    """
    return criterion.mode is not Mode.OBSERVE and not is_allow_list_stage(stage)


def alpha_share(stage: Stage, index: int) -> float:
    """The α the stage's criterion number `index` is tested at.

    The stage's α is split evenly over the criteria that act and are tests (count
    limits spend none). A test that does not act spends none of it; it is
    evaluated at the share it would get as one more acting test, so that what
    it records is what it would have done.
    """
    criterion = stage.criteria[index]
    if criterion.kind not in SPENDS_ALPHA:
        return 0.0
    spenders = sum(
        1 for c in stage.criteria if c.kind in SPENDS_ALPHA and acts(stage, c)
    )
    if acts(stage, criterion):
        return stage.alpha / spenders
    return stage.alpha / (spenders + 1)


def last_step_to_full(plan: Plan) -> tuple[int, int] | None:
    """(phase, stage) indexes of the plan's last step up to 100 %, if any.

    The go-live go/no-go is asked before this step.
    """
    found: tuple[int, int] | None = None
    for p, phase in plan.rollout_phases():
        for s, stage in enumerate(phase.stages):
            if stage.percentage >= 100:
                found = (p, s)
                break
    return found


def entry_gates(plan: Plan, phase_index: int) -> tuple[GoNoGo, ...]:
    """The go/no-gos asked before a rollout phase's first flag change."""
    phase = plan.phases[phase_index]
    gates = [phase.go_no_go] if isinstance(phase, RolloutPhase) else []
    if last_step_to_full(plan) == (phase_index, 0) and plan.go_live is not None:
        gates.append(plan.go_live.go_no_go)
    return tuple(g for g in gates if g is not None)


@dataclass(frozen=True, slots=True)
class StageExit:
    """How a stage may be left, as the engine must decide it."""

    by_go_no_go_only: bool
    """A UAT stage: only its go/no-go moves it on."""
    completes_phase: bool
    """The phase's last stage at 100 %: once its hold and sample pass without
    harm it completes the phase, undecided criteria or not."""
    gates: tuple[GoNoGo, ...]
    """Asked, in order, once the stage's own conditions hold; all must say Go."""
    max_time: Duration
    """How long an undecided stage keeps watching before it asks."""
    undecided_asks: tuple[str, ...]
    """Roles asked when the stage is still undecided at `max_time`."""


def stage_exit(plan: Plan, phase_index: int, stage_index: int) -> StageExit:
    """The exit rule of one stage.

    A stage moves on when its hold has passed, `min_sample` and `min_requests`
    are reached, no criterion is harmful, every acting criterion is healthy, and
    its gates say Go. Undecided at the end of the hold, it keeps watching until
    `max_time`, then asks `undecided_asks`, who may Launch on the evidence.
    """
    phase = plan.phases[phase_index]
    assert isinstance(phase, RolloutPhase)
    stage = phase.stages[stage_index]
    gates = [stage.go_no_go] if stage.go_no_go is not None else []
    is_last = stage_index == len(phase.stages) - 1
    if (
        not is_last
        and last_step_to_full(plan) == (phase_index, stage_index + 1)
        and plan.go_live is not None
        and plan.go_live.go_no_go is not None
    ):
        gates.append(plan.go_live.go_no_go)
    asks = stage.go_no_go.roles if stage.go_no_go else (plan.product_owner,)
    return StageExit(
        by_go_no_go_only=is_allow_list_stage(stage),
        completes_phase=is_last and stage.percentage >= 100,
        gates=tuple(gates),
        max_time=stage.effective_max_time,
        undecided_asks=asks,
    )


def step_back_to(stage_index: int) -> int | None:
    """The stage a `step_back` goes to; None is 0 % (the allow list only), paused."""
    return stage_index - 1 if stage_index > 0 else None


def resume_stage(resume_at: ResumeAt, stage_index: int) -> int:
    """The stage a re-enabled rollout resumes at (the approver may pick lower)."""
    if resume_at is ResumeAt.FIRST_STAGE:
        return 0
    if resume_at is ResumeAt.PREVIOUS_STAGE:
        return max(0, stage_index - 1)
    return stage_index
