"""Go/no-go: who must answer before a rollout moves on, and what answers mean.

Each named role must answer Launch to go on: one person of the role, or
`quorum` people of it when the plan sets one. Any Pause pauses; a Pivot steps
back one stage and asks for a plan revision, which a running run adopts at the
next stage boundary with its diff recorded. A Pivot outranks a Pause, and a
Pause outranks waiting for someone who has not answered yet.

At a promotion step (seed 004) the same three answers apply: Launch is Go, Pause
holds the step where it is, and Pivot is No-Go: the step restores its backup
(`on_no_go: restore`) or stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field

from flagramp.core.plans.base import Name, PlanModel, Text


class Answer(StrEnum):
    """What one person answers at a go/no-go."""

    LAUNCH = "launch"
    PAUSE = "pause"
    PIVOT = "pivot"


class GoNoGoOutcome(StrEnum):
    """What the answers so far decide."""

    GO = "go"
    WAIT = "wait"
    PAUSE = "pause"
    PIVOT = "pivot"


#: The outcome that is a No-Go at a promotion step: it triggers `on_no_go`.
NO_GO = GoNoGoOutcome.PIVOT


class GoNoGo(PlanModel):
    """The roles that must answer Launch before the rollout moves on."""

    roles: Annotated[tuple[Name, ...], Field(min_length=1)]
    quorum: Annotated[int, Field(ge=1, le=100)] = 1
    """How many people of each role must answer Launch (default one)."""
    note: Text | None = None
    """What the meeting looks at (a template link, a checklist)."""


def decide(gate: GoNoGo, answers: Mapping[str, Mapping[str, Answer]]) -> GoNoGoOutcome:
    """The outcome of a go/no-go given the answers so far: role → person → answer.

    Answers under roles the gate does not name do not count. Checking that each
    person holds the role is the caller's job (the plan's `roles` say who does).
    """
    given = [a for role in gate.roles for a in answers.get(role, {}).values()]
    if Answer.PIVOT in given:
        return GoNoGoOutcome.PIVOT
    if Answer.PAUSE in given:
        return GoNoGoOutcome.PAUSE
    launched = all(
        sum(a is Answer.LAUNCH for a in answers.get(role, {}).values()) >= gate.quorum
        for role in gate.roles
    )
    return GoNoGoOutcome.GO if launched else GoNoGoOutcome.WAIT


def _roles_shorthand(value: object) -> object:
    # `go_no_go: [product_owner, eng_lead]` is the common case; allow it.
    if isinstance(value, list | tuple):
        return {"roles": value}
    return value


#: A go/no-go, written either as a list of roles or as a mapping.
GoNoGoField = Annotated[
    GoNoGo,
    BeforeValidator(_roles_shorthand, json_schema_input_type=list[Name] | GoNoGo),
]
