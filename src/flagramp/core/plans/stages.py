"""Stages: one step of a rollout (a percentage held for a time) and what it records."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from flagramp.core.plans.base import Count, Name, PlanModel, Text
from flagramp.core.plans.criteria import Criterion
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGoField
from flagramp.core.plans.percentages import PercentOfUsers


class Question(PlanModel):
    """A question answered at a stage or checkpoint, by a person or a query."""

    text: Text
    answered_by: Name | None = None
    """The role that types in the answer (at go/no-go)."""
    query: Name | None = None
    """A metric that answers the question, where one fits."""
    answer: Text | None = None
    """The answer, once given (a filled-in plan carries it)."""


def _question_shorthand(value: object) -> object:
    # A bare string is a question a person answers.
    return {"text": value} if isinstance(value, str) else value


#: A question, written as plain text or as a mapping.
QuestionField = Annotated[
    Question,
    BeforeValidator(_question_shorthand, json_schema_input_type=Text | Question),
]


class Record(PlanModel):
    """What a stage or checkpoint records: metric values and people's answers."""

    metrics: tuple[Name, ...] = ()
    questions: tuple[QuestionField, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True if nothing is recorded."""
        return not self.metrics and not self.questions


def _flat(value: object) -> object:
    # The loader already flattens nested lists in the file; this serves callers
    # who build plans from data.
    if isinstance(value, list | tuple):
        return [
            x for item in value for x in (item if isinstance(item, list) else [item])
        ]
    return value


#: Success criteria. A list may hold lists (YAML aliases of shared criteria),
#: which are flattened: `criteria: [*new_errors, *baseline_criteria]`.
Criteria = Annotated[
    tuple[Criterion, ...],
    BeforeValidator(_flat, json_schema_input_type=list[Criterion | list[Criterion]]),
]


class Stage(PlanModel):
    """A percentage of the eligible users, held for a while and judged."""

    name: Text
    percentage: PercentOfUsers
    """Share of eligible users (after the holdback) who get the flags."""
    hold: Duration
    """The least time the stage lasts before it may move on."""
    min_sample: Count | None = None
    """The least number of exposed users before the criteria can decide."""
    min_requests: Count | None = None
    """The least number of requests before the criteria can decide."""
    max_time: Duration | None = None
    """The longest the stage may last without a decision; then it pauses."""
    criteria: Criteria = ()
    go_no_go: GoNoGoField | None = None
    """Roles that must answer Launch at the end of the stage."""
    record: Record = Record()
    description: Text | None = None


#: A list of stages; at least one.
Stages = Annotated[tuple[Stage, ...], Field(min_length=1)]
