"""Success criteria: the checks a stage must pass, each with a severity and mode.

The action mode lets a team automate step by step: `observe` records what the
criterion would have done and never acts, `pause` freezes the stage and asks
people, `rollback` applies the plan's rollback action for the criterion's
severity. Severity picks the action in rollback mode only; in the other modes it
says how bad a failure is, for people.

What the statistics need: each absolute, control and baseline criterion has an
`mde`, the smallest harm beyond its limit it must catch, in the criterion's unit.
The stage's α is split over the criteria that act (see `core.plans.semantics`);
criteria carry no α of their own.
"""

from __future__ import annotations

from abc import abstractmethod
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from flagramp.core.plans.base import Name, PlanModel, Text
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.percentages import show_number
from flagramp.core.severity import Severity


class Mode(StrEnum):
    """What the engine does when a criterion fails."""

    OBSERVE = "observe"
    PAUSE = "pause"
    ROLLBACK = "rollback"


class Unit(StrEnum):
    """How a tolerance against a comparison is measured."""

    POINTS = "points"
    """Absolute difference: 0.5 points is 2.0 % → 2.5 %."""
    PERCENT = "percent"
    """Relative difference: 10 percent is 2.0 % → 2.2 %."""


class CountScale(StrEnum):
    """How a count limit relates to the stage's share."""

    FIXED = "fixed"
    """`below` is the limit at every stage."""
    SHARE = "share"
    """`below` is the limit at 100 %; a stage allows its share of it (at least 1)."""


class AfterStepBack(StrEnum):
    """What a stage's count starts from when the stage is entered again."""

    RESET = "reset"
    """Each attempt of a stage counts from zero."""
    KEEP = "keep"
    """A stage's count carries over every attempt of it in the run."""


class BaselineFrom(StrEnum):
    """Where a baseline's window ends."""

    RUN = "run"
    """The window ends when the run makes its first flag change."""
    STAGE = "stage"
    """The window ends when the stage starts."""


#: Positive, finite amounts in a criterion's unit.
Amount = Annotated[float, Field(gt=0)]


class _CriterionBase(PlanModel):
    kind: str
    name: Name | None = None
    """A short name for reports and diffs; defaults to the kind and metric."""
    severity: Severity
    mode: Mode = Mode.PAUSE
    description: Text | None = None

    @property
    def label(self) -> str:
        """The criterion's name, or one made from its kind and metric."""
        return self.name or f"{self.kind}:{self.subject}"

    @property
    @abstractmethod
    def subject(self) -> str:
        """The metric or event the criterion watches."""

    def describe(self) -> str:
        """The criterion in words: `error_rate below 5 (high, pause)`."""
        return f"{self.rule()} ({self.severity.value}, {self.mode.value})"

    @abstractmethod
    def rule(self) -> str:
        """The rule alone, without severity and mode."""


class AbsoluteCriterion(_CriterionBase):
    """A fixed limit on a metric: error rate below 5 (%)."""

    kind: Literal["absolute"]
    metric: Name
    below: float | None = None
    """The metric must stay below this value."""
    above: float | None = None
    """The metric must stay above this value."""
    mde: Amount
    """The smallest excess over the limit the criterion must catch (metric's unit)."""

    @model_validator(mode="after")
    def _one_bound(self) -> AbsoluteCriterion:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of `below` or `above`")
        return self

    @property
    def subject(self) -> str:
        return self.metric

    def rule(self) -> str:
        if self.below is not None:
            return f"{self.metric} below {show_number(self.below)}"
        return f"{self.metric} above {show_number(self.above or 0)}"


class CountCriterion(_CriterionBase):
    """Fewer than `below` events per stage: contact-center calls below 2.

    An actor's events count in treatment only; an event without an actor (an
    environment-level count) counts for the whole environment.
    """

    kind: Literal["count"]
    metric: Name
    below: Annotated[int, Field(ge=1, le=1_000_000_000)]
    scale: CountScale = CountScale.FIXED
    after_step_back: AfterStepBack = AfterStepBack.RESET

    @property
    def subject(self) -> str:
        return self.metric

    def rule(self) -> str:
        scaled = ", scaled by share" if self.scale is CountScale.SHARE else ""
        return f"{self.metric} fewer than {self.below} per stage{scaled}"


class Baseline(PlanModel):
    """The window a baseline is measured in, before the run or the stage.

    The population is the eligible users who were not in treatment (flag off) in
    that window; the data come from the metric's source.
    """

    window: Duration = Duration(7 * 86_400, "7d")
    before: BaselineFrom = BaselineFrom.RUN


class _Relative(_CriterionBase):
    metric: Name
    max_increase: Annotated[float, Field(ge=0)] | None = None
    """How much higher than the comparison the metric may be (0: no increase)."""
    max_decrease: Annotated[float, Field(ge=0)] | None = None
    """How much lower than the comparison the metric may be (0: no decrease)."""
    unit: Unit = Unit.POINTS
    mde: Amount
    """The smallest harm beyond the tolerance the criterion must catch, in `unit`.
    With a tolerance of 0 it is the tolerance the test works to."""

    @model_validator(mode="after")
    def _one_direction(self) -> _Relative:
        if (self.max_increase is None) == (self.max_decrease is None):
            raise ValueError("give exactly one of `max_increase` or `max_decrease`")
        return self

    @property
    def subject(self) -> str:
        return self.metric

    @property
    def tolerance(self) -> float:
        """The allowed change, whichever direction it is in."""
        return (
            self.max_increase
            if self.max_increase is not None
            else (self.max_decrease or 0.0)
        )

    def _tolerance(self, against: str) -> str:
        up = self.max_increase is not None
        amount = self.tolerance
        word = "increase" if up else "decrease"
        if not amount:
            return f"{self.metric}: no {word} against {against}"
        unit = " points" if self.unit is Unit.POINTS else " %"
        return (
            f"{self.metric}: at most {show_number(amount)}{unit} {word} "
            f"against {against}"
        )


class RelativeToControlCriterion(_Relative):
    """The treated users' metric against the control group's (in points)."""

    kind: Literal["relative_to_control"]

    def rule(self) -> str:
        return self._tolerance("control")


class RelativeToBaselineCriterion(_Relative):
    """The metric against its value in a window before the run (works at 100 %)."""

    kind: Literal["relative_to_baseline"]
    baseline: Baseline = Baseline()

    def rule(self) -> str:
        return self._tolerance(
            f"the {self.baseline.window} baseline before the {self.baseline.before}"
        )


#: The most distinct users the new-error rule may wait for. Mirrors the statistics
#: (`stats.NoveltyBudget.max_users`): past it the rule is too weak to act on.
MAX_NEW_ERROR_USERS = 10


class NewErrorClassCriterion(_CriterionBase):
    """An error fingerprint seen in treatment but never in control or before.

    The rule fires when enough distinct treated users hit a fingerprint no control
    user hit. With treatment share s, a fingerprint unrelated to the flag lands
    only in treatment with chance s^k, so over F fingerprints the false-alarm rate
    is at most F·s^k; the statistics choose k from the criterion's share of the
    stage's α, and `min_users` sets a floor on k.
    """

    kind: Literal["new_error_class"]
    event: Name | None = None
    """A request event: only its fingerprints count (default: every request)."""
    min_users: Annotated[int, Field(ge=1)] = 1
    """The fewest distinct treated users a new fingerprint needs (at most 10)."""
    fingerprints: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    """F, the new fingerprints a stage is expected to test; default: from the
    baseline (its unseen-species estimate, at least 20)."""

    @property
    def subject(self) -> str:
        return self.event or "requests"

    def rule(self) -> str:
        floor = f", at least {self.min_users} users" if self.min_users > 1 else ""
        return f"no new error class in {self.subject} (never in control{floor})"


Criterion = Annotated[
    AbsoluteCriterion
    | CountCriterion
    | RelativeToControlCriterion
    | RelativeToBaselineCriterion
    | NewErrorClassCriterion,
    Field(discriminator="kind"),
]
"""One success criterion, chosen by its `kind`."""

#: Criterion kinds that need a control group (users eligible but kept off).
NEEDS_CONTROL = frozenset({"relative_to_control", "new_error_class"})
#: Criterion kinds that are statistical tests and so spend a share of α; a count
#: limit is a rule about observed events and spends none.
SPENDS_ALPHA = frozenset(
    {"absolute", "relative_to_control", "relative_to_baseline", "new_error_class"}
)
