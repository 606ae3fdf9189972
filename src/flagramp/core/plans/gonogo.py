"""Go/no-go: who must answer before a rollout moves on, and what answers mean.

Every named role must answer Launch to go on; any Pause pauses; a Pivot steps back
one stage and asks for a plan revision. A Pivot outranks a Pause, and a Pause
outranks waiting for someone who has not answered yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field

from flagramp.core.plans.base import Name, PlanModel, Text


class Answer(StrEnum):
    """What one role answers at a go/no-go."""

    LAUNCH = "launch"
    PAUSE = "pause"
    PIVOT = "pivot"


class GoNoGoOutcome(StrEnum):
    """What the answers so far decide."""

    GO = "go"
    WAIT = "wait"
    PAUSE = "pause"
    PIVOT = "pivot"


def decide(roles: tuple[str, ...], answers: Mapping[str, Answer]) -> GoNoGoOutcome:
    """The outcome of a go/no-go given the answers so far (by role).

    Answers from roles not named in `roles` do not count.
    """
    given = [answers[r] for r in roles if r in answers]
    if Answer.PIVOT in given:
        return GoNoGoOutcome.PIVOT
    if Answer.PAUSE in given:
        return GoNoGoOutcome.PAUSE
    if len(given) == len(roles) and roles:
        return GoNoGoOutcome.GO
    return GoNoGoOutcome.WAIT


class GoNoGo(PlanModel):
    """The roles that must answer Launch before the rollout moves on."""

    roles: Annotated[tuple[Name, ...], Field(min_length=1)]
    note: Text | None = None
    """What the meeting looks at (a template link, a checklist)."""


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
