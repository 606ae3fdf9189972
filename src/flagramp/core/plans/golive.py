"""Go live: the gate before everyone gets the feature, KPIs, checkpoints, questions.

The go-live go/no-go is asked before the plan's last step to 100 %. Go live
itself is the moment the plan's last rollout stage completes; checkpoints count
from then (`after: 1w` is one week after go live). The desired `date` is for
people and the projected timeline; the engine does not wait for it.
"""

from __future__ import annotations

import datetime as dt

from pydantic import model_validator

from flagramp.core.plans.base import Name, PlanModel, Text
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGoField
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.stages import QuestionField, Record


class Kpi(PlanModel):
    """A post-launch KPI, the metric that measures it and its target."""

    name: Name
    description: Text
    metric: Name
    """The metric measuring the KPI; checkpoints record its actual value."""
    below: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Kpi:
        if (self.below is None) == (self.above is None):
            raise ValueError(
                "a KPI needs a target: give exactly one of `below` or `above`"
            )
        return self

    def target(self) -> str:
        """The target in words: `below 5`."""
        if self.below is not None:
            return f"below {show_number(self.below)}"
        return f"above {show_number(self.above or 0)}"


class Checkpoint(PlanModel):
    """A look back some time after go live (1 week, 1 month)."""

    name: Text
    after: Duration
    """Time after go live."""
    record: Record = Record()
    kpis: bool = True
    """Record each KPI's actual value at this checkpoint."""


class GoLive(PlanModel):
    """The launch itself and what is checked after it."""

    date: dt.date | None = None
    """The desired go-live date."""
    go_no_go: GoNoGoField | None = None
    """Asked before the plan's last step to 100 %."""
    kpis: tuple[Kpi, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    questions: tuple[QuestionField, ...] = ()
    """Post-launch questions, each answered by a query or a person."""
