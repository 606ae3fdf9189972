"""Success criteria: the checks a stage must pass, each with a severity and mode.

The action mode lets a team automate step by step: `observe` only records,
`pause` stops the rollout for people to decide, `rollback` applies the plan's
rollback policy for the criterion's severity.
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


class _Limit(_CriterionBase):
    metric: Name
    below: float | None = None
    """The metric must stay below this value."""
    above: float | None = None
    """The metric must stay above this value."""

    @model_validator(mode="after")
    def _one_bound(self) -> _Limit:
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


class AbsoluteCriterion(_Limit):
    """A fixed limit on a metric: error rate below 5 (%)."""

    kind: Literal["absolute"]


class CountCriterion(_CriterionBase):
    """Fewer than `below` events per stage: contact-center calls below 2."""

    kind: Literal["count"]
    metric: Name
    below: Annotated[int, Field(ge=1)]
    scope: Literal["treatment", "all"] = "treatment"
    """Count only treated users' events (the default) or everyone's."""

    @property
    def subject(self) -> str:
        return self.metric

    def rule(self) -> str:
        return f"{self.metric} fewer than {self.below} per stage ({self.scope})"


class _Relative(_CriterionBase):
    metric: Name
    max_increase: Annotated[float, Field(ge=0)] | None = None
    """How much higher than the comparison the metric may be (0: any increase)."""
    max_decrease: Annotated[float, Field(ge=0)] | None = None
    """How much lower than the comparison the metric may be (0: any decrease)."""
    unit: Unit = Unit.POINTS
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    """False-alarm rate of the always-valid test behind the comparison."""

    @model_validator(mode="after")
    def _one_direction(self) -> _Relative:
        if (self.max_increase is None) == (self.max_decrease is None):
            raise ValueError("give exactly one of `max_increase` or `max_decrease`")
        return self

    @property
    def subject(self) -> str:
        return self.metric

    def _tolerance(self, against: str) -> str:
        up = self.max_increase is not None
        amount = self.max_increase if up else self.max_decrease
        word = "increase" if up else "decrease"
        if not amount:
            return f"{self.metric}: no {word} against {against}"
        unit = " points" if self.unit is Unit.POINTS else " %"
        return (
            f"{self.metric}: at most {show_number(amount or 0)}{unit} {word} "
            f"against {against}"
        )


class RelativeToControlCriterion(_Relative):
    """The treated users' metric against the control group's."""

    kind: Literal["relative_to_control"]

    def rule(self) -> str:
        return self._tolerance("control")


class RelativeToBaselineCriterion(_Relative):
    """The metric against its value before the run (works at 100 % too)."""

    kind: Literal["relative_to_baseline"]
    baseline: Duration = Duration(7 * 86_400, "7d")
    """How long before the run the baseline is measured."""
    baseline_value: float | None = None
    """The baseline as known today, for people; the engine measures its own."""

    def rule(self) -> str:
        return self._tolerance(f"the {self.baseline} baseline")


class NewErrorClassCriterion(_CriterionBase):
    """An error fingerprint seen in treatment but never in control or before.

    The rule fires when `min_users` distinct treated users hit a fingerprint no
    control user hit. If treatment holds a share s of users, a fingerprint
    unrelated to the flag lands only in treatment with chance s^k, so over F
    fingerprints the false-alarm rate is at most F·s^k; the linter checks that
    this stays at or below `alpha`.
    """

    kind: Literal["new_error_class"]
    event: Name = "error"
    """The event that carries error fingerprints."""
    min_users: Annotated[int, Field(ge=1, le=100)] = 3
    """k: distinct treated users who must hit the new fingerprint."""
    fingerprints: Annotated[int, Field(ge=1)] = 20
    """F: how many distinct fingerprints a stage is expected to test."""
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.01

    @property
    def subject(self) -> str:
        return self.event

    def rule(self) -> str:
        return (
            f"no new error class in {self.event} "
            f"(seen by {self.min_users} users, never in control)"
        )

    def weak_from(self) -> float:
        """The treatment share from which F·s^k exceeds alpha."""
        return float((self.alpha / self.fingerprints) ** (1 / self.min_users))


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
