"""Go live: KPIs with targets, checkpoints after launch, post-launch questions."""

from __future__ import annotations

import datetime as dt

from pydantic import model_validator

from flagramp.core.plans.base import Name, PlanModel, Text
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGoField
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.stages import QuestionField, Record


class Kpi(PlanModel):
    """A post-launch KPI and its target; `actual` values go in checkpoints."""

    name: Name
    description: Text
    metric: Name | None = None
    """The metric measuring the KPI, if the plan defines one."""
    below: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _at_most_one_target(self) -> Kpi:
        if self.below is not None and self.above is not None:
            raise ValueError("give at most one of `below` or `above`")
        return self

    def target(self) -> str:
        """The target in words, or an empty string if it has none."""
        if self.below is not None:
            return f"below {show_number(self.below)}"
        if self.above is not None:
            return f"above {show_number(self.above)}"
        return ""


class Checkpoint(PlanModel):
    """A look back some time after launch (1 week, 1 month)."""

    name: Text
    after: Duration
    record: Record = Record()
    kpis: bool = True
    """Record each KPI's actual value at this checkpoint."""


class GoLive(PlanModel):
    """The launch itself and what is checked after it."""

    date: dt.date | None = None
    go_no_go: GoNoGoField | None = None
    kpis: tuple[Kpi, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    questions: tuple[QuestionField, ...] = ()
    """Post-launch questions, answered by a query or a person."""
