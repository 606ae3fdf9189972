"""The rollback policy: what each severity does, who may re-enable, and where to resume.

Seeds 001/002 name three severities (critical: toggle off for everyone; high:
lower the percentage and revert the offending commit; low: leave it on and fix);
seed 003 adds an on-call kill switch that needs no approval and product-owner
approval before re-enabling.

Edges the engine follows:
- `step_back` at a phase's first stage goes to 0 % (the allow list only, if any)
  and pauses.
- An earlier phase's flags stay at their last stage while later phases run; its
  last stage's criteria keep watching them (`watched_until`), and a failure there
  applies this policy to that phase's flags.
- A plan with any rollback action (or a kill switch) names who approves
  re-enabling; one with `revert_required` names who confirms the revert.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from flagramp.core.plans.base import Name, PlanModel, Text
from flagramp.core.severity import Severity


class Action(StrEnum):
    """What the engine does to the flags for a severity."""

    DISABLE_ALL = "disable_all"
    """Turn the phase's flags off for everyone."""
    STEP_BACK = "step_back"
    """Go back to the previous stage's percentage."""
    CONTINUE = "continue"
    """Leave the flags as they are and log the problem."""


#: Actions that take users off the feature, and so need someone to re-enable.
ROLLBACK_ACTIONS = frozenset({Action.DISABLE_ALL, Action.STEP_BACK})


class ResumeAt(StrEnum):
    """Where a rollout resumes once re-enabling is approved (the approver may
    choose a lower stage: seed 001's "possibly at a lower percentage")."""

    FIRST_STAGE = "first_stage"
    PREVIOUS_STAGE = "previous_stage"
    SAME_STAGE = "same_stage"


class AfterStepBack(StrEnum):
    """How a rollout climbs again after a step back."""

    APPROVAL = "approval"
    """It stays at the lower stage until a re-enable approver says go on."""
    AUTOMATIC = "automatic"
    """The lower stage runs its hold and criteria again and moves on by itself
    (once a required revert is confirmed)."""


class SeverityPolicy(PlanModel):
    """What happens for one severity."""

    action: Action
    revert_required: bool = False
    """The offending change must be reverted, and the revert confirmed, before
    going on (seed 001: high)."""
    steps: tuple[Text, ...] = ()
    """What people do, in order (debug, fix, test, deploy)."""


class ReEnable(PlanModel):
    """Who turns the flags back on after a rollback or a kill, and where to."""

    approved_by: Annotated[tuple[Name, ...], Field(min_length=1)]
    """Roles that must approve, after a root-cause note (seed 003: PO)."""
    resume_at: ResumeAt = ResumeAt.PREVIOUS_STAGE
    after_step_back: AfterStepBack = AfterStepBack.APPROVAL


class RollbackPolicy(PlanModel):
    """Severity → action, who approves re-enabling, and who may kill."""

    severities: Annotated[dict[Severity, SeverityPolicy], Field(min_length=1)]
    re_enable: ReEnable | None = Field(default=None, alias="re-enable")
    """Required when any severity rolls back or a kill switch exists."""
    revert_confirmed_by: tuple[Name, ...] = ()
    """Roles that confirm a required revert is deployed."""
    kill_switch: tuple[Name, ...] = ()
    """Roles that may disable the flags at once, without approval (on-call)."""
    procedure: tuple[Text, ...] = ()
    """The rollback procedure in words: identify, disable, verify, document…"""
    monitored_by: tuple[Name, ...] = ()
    """Roles who watch for problems and raise them."""

    @property
    def rolls_back(self) -> bool:
        """True if any severity takes users off the feature."""
        return any(p.action in ROLLBACK_ACTIONS for p in self.severities.values())
