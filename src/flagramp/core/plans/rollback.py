"""The rollback policy: what each severity does, who may re-enable, and where to resume.

Seeds 001/002 name three severities (critical: toggle off for everyone; high:
lower the percentage and revert the offending commit; low: leave it on and fix);
seed 003 adds an on-call kill switch that needs no approval and product-owner
approval before re-enabling.
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


class ResumeAt(StrEnum):
    """Where a rollout may resume once re-enabling is approved."""

    FIRST_STAGE = "first_stage"
    PREVIOUS_STAGE = "previous_stage"
    SAME_STAGE = "same_stage"


class SeverityPolicy(PlanModel):
    """What happens for one severity."""

    action: Action
    revert_required: bool = False
    """The offending change must be reverted before going on (seed 001: high)."""
    steps: tuple[Text, ...] = ()
    """What people do, in order (debug, fix, test, deploy)."""


class RollbackPolicy(PlanModel):
    """Severity → action, who approves re-enabling, and where to resume."""

    severities: Annotated[dict[Severity, SeverityPolicy], Field(min_length=1)]
    reenable_approved_by: tuple[Name, ...] = ()
    """Roles that must approve turning the flags back on (seed 003: PO)."""
    resume_at: ResumeAt = ResumeAt.PREVIOUS_STAGE
    kill_switch: tuple[Name, ...] = ()
    """Roles that may disable the flags at once, without approval (on-call)."""
    procedure: tuple[Text, ...] = ()
    """The rollback procedure in words: identify, disable, verify, document…"""
    monitored_by: tuple[Name, ...] = ()
    """Roles who watch for problems and raise them."""
