"""What each stage can detect within its hold: the seam to the statistics.

`core` may not import `stats`, so the linter asks a caller-supplied function
(`DetectableEffect`) for the smallest effect a criterion can detect at the
plan's traffic within the stage's hold; the CLI composes it from
`stats`' detectability function. This module builds the questions and places
the answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans.criteria import (
    AbsoluteCriterion,
    RelativeToBaselineCriterion,
    RelativeToControlCriterion,
    Unit,
)
from flagramp.core.plans.metrics import PERCENT_KINDS
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.problems import Finding, Loc
from flagramp.core.plans.semantics import (
    alpha_share,
    is_allow_list_stage,
    treatment_share,
)


@dataclass(frozen=True, slots=True)
class DetectabilityQuery:
    """One criterion of one stage, with everything a power calculation needs.

    Values are in the plan's units: `mde` and `typical` in percent for rates
    (`percent` True), in the metric's unit for means.
    """

    phase: str
    stage: str
    criterion: str
    comparison: str
    """`absolute`, `control` or `baseline`."""
    share: float
    """The treatment share, 0–1."""
    hold_minutes: float
    alpha: float
    """The criterion's share of the stage's α."""
    beta: float
    mde: float
    margin: float
    """The harm the criterion allows (`max_increase` / `max_decrease`), or for an
    absolute criterion its limit (`below` / `above`), in the criterion's unit."""
    higher_is_worse: bool
    unit: Unit
    percent: bool
    """True for ratios and shares (in percent); False for means."""
    per_user: bool
    """True when the metric's unit is a user (a share of users), not a request."""
    typical: float | None
    """The metric's usual value today, if the plan gives it."""
    requests_per_minute: float | None
    users_per_day: int | None


#: The smallest effect detectable within the hold, in the criterion's unit, or
#: None when it cannot be told (no traffic or typical value in the plan).
DetectableEffect = Callable[[DetectabilityQuery], float | None]


@dataclass(frozen=True, slots=True)
class Detectability:
    """A criterion's detectable effect next to the mde it must catch."""

    loc: Loc
    query: DetectabilityQuery
    effect: float | None

    @property
    def catches_mde(self) -> bool | None:
        """Whether the stage can catch the mde in its hold (None: unknown)."""
        return None if self.effect is None else self.effect <= self.query.mde


def queries(plan: Plan) -> Iterator[tuple[Loc, DetectabilityQuery]]:
    """A question for every tested criterion of every randomised stage."""
    traffic = plan.traffic
    for p, phase in plan.rollout_phases():
        for s, stage in enumerate(phase.stages):
            if is_allow_list_stage(stage):
                continue
            for c, criterion in enumerate(stage.criteria):
                if isinstance(criterion, AbsoluteCriterion):
                    comparison, unit = "absolute", Unit.POINTS
                    up = criterion.below is not None
                    margin = criterion.below if up else criterion.above
                elif isinstance(criterion, RelativeToControlCriterion):
                    comparison, unit = "control", criterion.unit
                    up, margin = criterion.max_increase is not None, criterion.tolerance
                elif isinstance(criterion, RelativeToBaselineCriterion):
                    comparison, unit = "baseline", criterion.unit
                    up, margin = criterion.max_increase is not None, criterion.tolerance
                else:
                    continue
                metric = plan.metrics[criterion.metric]
                yield (
                    ("phases", p, "stages", s, "criteria", c),
                    DetectabilityQuery(
                        phase=phase.name,
                        stage=stage.name,
                        criterion=criterion.label,
                        comparison=comparison,
                        share=treatment_share(phase, stage),
                        hold_minutes=stage.hold.seconds / 60,
                        alpha=alpha_share(stage, c),
                        beta=stage.beta,
                        mde=criterion.mde,
                        margin=float(margin or 0.0),
                        higher_is_worse=up,
                        unit=unit,
                        percent=metric.metric_kind in PERCENT_KINDS,
                        per_user=metric.metric_kind is MetricKind.SHARE_OF_USERS,
                        typical=metric.typical,
                        requests_per_minute=traffic.requests_per_minute
                        if traffic
                        else None,
                        users_per_day=traffic.users_per_day if traffic else None,
                    ),
                )


def detectability(plan: Plan, effect: DetectableEffect) -> list[Detectability]:
    """Each tested criterion's detectable effect, in plan order."""
    return [Detectability(loc, q, effect(q)) for loc, q in queries(plan)]


def findings(rows: list[Detectability]) -> Iterator[Finding]:
    """A warning for every criterion its stage cannot catch within the hold."""
    for row in rows:
        if row.catches_mde is not False or row.effect is None:
            continue
        q = row.query
        seen = (
            "nothing"
            if math.isinf(row.effect)
            else f"about {show_number(round(row.effect, 3))}"
        )
        yield Finding(
            row.loc,
            f"stage {q.stage!r} can detect {seen} within its hold; this criterion "
            f"must catch {show_number(q.mde)}",
            "hold longer, raise the stage's share, or accept a larger mde",
        )
