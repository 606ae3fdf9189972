"""The plan: header, people, definitions, and the parts in the order they run."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field

from flagramp.core.plans.alerts import AlertRule, Notification
from flagramp.core.plans.base import MAX_COUNT, Count, Name, PlanModel, Text
from flagramp.core.plans.declared_events import EventDecl
from flagramp.core.plans.golive import GoLive
from flagramp.core.plans.metrics import Metric, Rule
from flagramp.core.plans.phases import Link, Phase, RolloutPhase
from flagramp.core.plans.promotion import Environment, Milestone, Promotion
from flagramp.core.plans.rollback import RollbackPolicy
from flagramp.core.plans.stages import Stage

#: The environment a plan changes unless it names another; the CLI and the store
#: use the same name.
DEFAULT_ENVIRONMENT = "production"


class Signature(StrEnum):
    """What a role may sign."""

    PREREQUISITE = "prerequisite"
    GO_NO_GO = "go_no_go"
    RE_ENABLE = "re-enable"
    REVERT = "revert"
    KILL_SWITCH = "kill_switch"
    PROMOTION = "promotion"


class Task(PlanModel):
    """A responsibility of a role, with the project phase it belongs to."""

    text: Text
    phase: Text | None = None
    """When in the project: Planning, Execute Deployment, Validation & Go-Live."""


def _task_shorthand(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


TaskField = Annotated[
    Task, BeforeValidator(_task_shorthand, json_schema_input_type=Text | Task)
]


class Role(PlanModel):
    """A role, the people who hold it, and what it may sign."""

    title: Text | None = None
    people: Annotated[tuple[Text, ...], Field(min_length=1)]
    """Accounts (email or id) of the people in the role; only they sign for it."""
    signs: tuple[Signature, ...] = ()
    tasks: tuple[TaskField, ...] = ()
    """Responsibilities, as seed 004's role tables list them."""
    on_call: bool = False
    """On call during the rollout, rather than scheduled (seed 004's table 10)."""


class PlanSegment(PlanModel):
    """A named set of rules over actor properties (`ehr == oracle`)."""

    rules: Annotated[tuple[Rule, ...], Field(min_length=1)]
    description: Text | None = None


def _rules_shorthand(value: object) -> object:
    return {"rules": value} if isinstance(value, list | tuple) else value


SegmentField = Annotated[
    PlanSegment,
    BeforeValidator(_rules_shorthand, json_schema_input_type=list[Rule] | PlanSegment),
]


class FlagDecl(PlanModel):
    """A flag the plan uses; `create: true` if the plan brings it into being."""

    description: Text | None = None
    create: bool = False


class Prerequisite(PlanModel):
    """Something that must be true before any flag changes, signed by a role."""

    text: Text
    signed_by: Name


class Traffic(PlanModel):
    """Expected traffic of the eligible users, for sizing stages."""

    requests_per_minute: Annotated[float, Field(gt=0, le=1e9)] | None = None
    users_per_day: Annotated[int, Field(gt=0, le=MAX_COUNT)] | None = None


class Plan(PlanModel):
    """A release plan: rollout phases, a promotion, or both."""

    name: Name
    """A short identifier: `vaos-service-integration`."""
    title: Text
    revision: Count = 1
    """Revisions replace a plan; a running plan is never edited in place."""
    owner: Name
    """The role that owns the plan."""
    product_owner: Name
    """The role of the product owner (asked when no other role is named)."""
    environment: Name = DEFAULT_ENVIRONMENT
    """The environment whose flags the phases change."""
    status: Text | None = None
    summary: Text | None = None
    hypothesis: Text | None = None
    links: tuple[Link, ...] = ()
    traffic: Traffic | None = None
    roles: Annotated[dict[Name, Role], Field(min_length=1)]
    segments: dict[Name, SegmentField] = Field(default_factory=dict)
    flags: dict[Name, FlagDecl] = Field(default_factory=dict)
    events: dict[Name, EventDecl] = Field(default_factory=dict)
    """Event names the application sends; metrics may name only these."""
    metrics: dict[Name, Metric] = Field(default_factory=dict)
    environments: tuple[Environment, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    prerequisites: tuple[Prerequisite, ...] = ()
    phases: tuple[Phase, ...] = ()
    rollback: RollbackPolicy | None = None
    """Required when the plan has rollout phases."""
    promotion: Promotion | None = None
    go_live: GoLive | None = None
    alerts: tuple[AlertRule, ...] = ()
    notifications: tuple[Notification, ...] = ()
    risks: tuple[Text, ...] = ()

    def rollout_phases(self) -> Iterator[tuple[int, RolloutPhase]]:
        """The rollout phases with their index in `phases`."""
        for index, phase in enumerate(self.phases):
            if isinstance(phase, RolloutPhase):
                yield index, phase

    def stage(self, phase: str, stage: str) -> Stage | None:
        """The stage named `stage` in the phase named `phase`, if any."""
        for _, candidate in self.rollout_phases():
            if candidate.name == phase:
                return next((s for s in candidate.stages if s.name == stage), None)
        return None
