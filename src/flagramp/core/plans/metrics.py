"""Metric definitions: what to compute from events, named for criteria to use.

Six kinds cover the seeds: a ratio of two event counts (error rate,
abandonment), the share of users with an event, a count per stage
(contact-center calls), the mean or a quantile of an event's value (latency),
and unique actors. Ratios and shares are in percent, so a criterion writes
`below: 5` for "error rate < 5 %".
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from flagramp.core.plans.base import Name, PlanModel, Text

#: A filter on event attributes, written as a segment rule:
#: `route == /select-care-team`, `device in [mobile, desktop]`.
Rule = Annotated[str, Field(min_length=1, max_length=500)]


class _MetricBase(PlanModel):
    description: Text | None = None
    """What the metric shows, for people reading the plan or a report."""
    where: tuple[Rule, ...] = ()
    """Filters on event attributes, all of which must hold."""
    split_by: tuple[Name, ...] = ()
    """Event attributes to break the metric down by in reports (status, device)."""
    source: Text | None = None
    """Where people see it today (a Datadog dashboard, API logs)."""
    unit: str | None = None
    """The unit shown in reports; ratios and shares are always percent."""


class RatioMetric(_MetricBase):
    """Events of one name per event of another, in percent (error rate)."""

    kind: Literal["ratio"]
    numerator: Name
    """The event counted on top (`request_failed`)."""
    denominator: Name
    """The event counted below (`request`)."""


class ShareOfUsersMetric(_MetricBase):
    """Percent of exposed users with at least one event of this name."""

    kind: Literal["share_of_users"]
    event: Name


class CountMetric(_MetricBase):
    """How many events of this name occur during a stage."""

    kind: Literal["count"]
    event: Name


class MeanMetric(_MetricBase):
    """The mean of a numeric event attribute (CSAT score)."""

    kind: Literal["mean"]
    event: Name
    value: Name
    """The event attribute averaged (`score`)."""


class QuantileMetric(_MetricBase):
    """A quantile of a numeric event attribute (p95 latency)."""

    kind: Literal["quantile"]
    event: Name
    value: Name
    """The event attribute (`latency_ms`)."""
    q: Annotated[float, Field(gt=0, lt=1)]
    """The quantile, 0 < q < 1 (0.95 for p95)."""


class UniqueActorsMetric(_MetricBase):
    """How many distinct actors produced an event of this name."""

    kind: Literal["unique_actors"]
    event: Name


Metric = Annotated[
    RatioMetric
    | ShareOfUsersMetric
    | CountMetric
    | MeanMetric
    | QuantileMetric
    | UniqueActorsMetric,
    Field(discriminator="kind"),
]
"""One metric definition, chosen by its `kind`."""
