"""Stages: one step of a rollout (a percentage held for a time) and what it records."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from flagramp.core.plans.base import Count, Name, PlanModel, Text
from flagramp.core.plans.criteria import Criterion
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGoField
from flagramp.core.plans.percentages import PercentOfUsers

#: A stage's default α: the chance that a healthy stage is stopped anyway.
DEFAULT_ALPHA = 0.05
#: The largest α a stage may spend. Rationale: above one false stop in five, the
#: guards stop healthy rollouts too often for their decisions to be trusted.
MAX_ALPHA = 0.2
#: A stage's default β: the chance that "healthy" is said of a harm of `mde`.
DEFAULT_BETA = 0.1


class Question(PlanModel):
    """A question answered at a stage or checkpoint, by a person or a query.

    Every question names `answered_by` (a role) or `query` (a metric). A
    `follow_up` makes it a yes/no question whose follow-up is asked only on "yes"
    (seed 000: "Any UX changes necessary? … If yes, what").
    """

    text: Text
    answered_by: Name | None = None
    """The role that types in the answer."""
    query: Name | None = None
    """A metric that answers the question, where one fits."""
    yes_no: bool = False
    """The answer is yes or no (implied by a `follow_up`)."""
    follow_up: QuestionField | None = None
    """Asked only when the answer is yes."""
    answer: Text | None = None
    """The answer, once given (a filled-in plan carries it)."""
    sample_answer: Text | None = None
    """What an answer looks like, from a template: never a result."""

    @property
    def is_yes_no(self) -> bool:
        """True if the answer is yes or no."""
        return self.yes_no or self.follow_up is not None


def _question_shorthand(value: object) -> object:
    # A bare string is read as the question's text, so that the missing
    # `answered_by` or `query` is reported where the question is written.
    return {"text": value} if isinstance(value, str) else value


#: A question, written as a mapping (a bare string is its text alone).
QuestionField = Annotated[
    Question,
    BeforeValidator(_question_shorthand, json_schema_input_type=Text | Question),
]
Question.model_rebuild()


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
    """Share of eligible users (after the holdback) who get the flags; 0 means
    the phase's allow list only (a UAT stage)."""
    hold: Duration
    """The least time the stage lasts before it may move on."""
    min_sample: Count | None = None
    """The least number of exposed users before the stage may move on."""
    min_requests: Count | None = None
    """The least number of requests before the stage may move on."""
    max_time: Duration | None = None
    """How long an undecided stage keeps watching before it asks people;
    default twice the hold."""
    alpha: Annotated[float, Field(gt=0, le=MAX_ALPHA)] = DEFAULT_ALPHA
    """The chance that a healthy stage is stopped, shared by its acting criteria."""
    beta: Annotated[float, Field(gt=0, le=0.5)] = DEFAULT_BETA
    """The chance that a criterion calls a harm of its `mde` healthy."""
    criteria: Criteria = ()
    go_no_go: GoNoGoField | None = None
    """Roles asked before the stage moves on (and the only way out of a UAT stage)."""
    record: Record = Record()
    description: Text | None = None

    @property
    def effective_max_time(self) -> Duration:
        """`max_time`, or twice the hold when the plan leaves it out."""
        return self.max_time or Duration.of(2 * self.hold.seconds)


#: A list of stages; at least one.
Stages = Annotated[tuple[Stage, ...], Field(min_length=1)]
