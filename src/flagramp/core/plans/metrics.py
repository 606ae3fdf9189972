"""Metric definitions: what to compute from events, named for criteria to use.

Seven kinds cover the seeds: a ratio of two event counts (error rate,
abandonment), the share of users with an event, the share of events whose value
is above a threshold (slow responses), a count per stage (contact-center calls),
the mean or a quantile of an event's value (CSAT, latency), and unique actors.
Ratios and shares are in percent, so a criterion writes `below: 5` for
"error rate < 5 %".

A metric is read from pushed events (the default: the SDK or `events push`) or
from a named Prometheus or Datadog query. An external query must group by the
`variant` label so that treatment and control can be told apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans.base import Name, PlanModel, Text

#: A filter on event attributes, written as a segment rule:
#: `route == /select-care-team`, `device in [mobile, desktop]`.
Rule = Annotated[str, Field(min_length=1, max_length=500)]

#: Metric kinds measured in percent (a criterion's points are percentage points).
PERCENT_KINDS = frozenset(
    {MetricKind.RATIO, MetricKind.SHARE_OF_USERS, MetricKind.SHARE_ABOVE}
)
#: Metric kinds a ratio guard can test: rates and means. A quantile cannot be
#: tested sequentially as it is; its testable form is `share_above`.
TESTABLE_KINDS = PERCENT_KINDS | {MetricKind.MEAN}


class PushedSource(PlanModel):
    """Events the application pushes to flagramp (SDK middleware, `events push`)."""

    kind: Literal["pushed"] = "pushed"
    collected_since: dt.date | None = None
    """The day these events started arriving: the earliest data a baseline has."""


class QuerySource(PlanModel):
    """A named query in Prometheus or Datadog, grouped by the `variant` label."""

    kind: Literal["prometheus", "datadog"]
    query: Text
    """The count, or a ratio's numerator, in the backend's query language."""
    denominator_query: Text | None = None
    """A ratio's or a mean's denominator."""


MetricSource = Annotated[PushedSource | QuerySource, Field(discriminator="kind")]
"""Where a metric's numbers come from: `pushed` (default), `prometheus`, `datadog`."""


class _MetricBase(PlanModel):
    description: Text | None = None
    """What the metric shows, for people reading the plan or a report."""
    where: tuple[Rule, ...] = ()
    """Filters on event attributes, all of which must hold."""
    split_by: tuple[Name, ...] = ()
    """Event attributes to break the metric down by in reports (status, device)."""
    source: MetricSource = PushedSource()
    seen_in: Text | None = None
    """Where people see it today (a Datadog dashboard, API logs), in words."""
    unit: str | None = None
    """The unit shown in reports; ratios and shares are always percent."""
    typical: float | None = None
    """Its usual value today, in its unit: sizes stages in `plan lint`; the engine
    measures its own baseline."""

    @property
    def metric_kind(self) -> MetricKind:
        """The kind as the statistics know it."""
        return MetricKind(getattr(self, "kind"))  # noqa: B009

    def event_names(self) -> tuple[str, ...]:
        """The event names the metric reads (none for an external query)."""
        return tuple(
            n
            for n in (
                getattr(self, "event", None),
                getattr(self, "numerator", None),
                getattr(self, "denominator", None),
            )
            if n is not None
        )


class RatioMetric(_MetricBase):
    """Events of one name per event of another, in percent (error rate)."""

    kind: Literal["ratio"]
    numerator: Name | None = None
    """The event counted on top (`request_failed`); not for an external query."""
    denominator: Name | None = None
    """The event counted below (`request`); not for an external query."""


class ShareOfUsersMetric(_MetricBase):
    """Percent of exposed users with at least one event of this name."""

    kind: Literal["share_of_users"]
    event: Name


class ShareAboveMetric(_MetricBase):
    """Percent of events whose value is above a threshold (responses over 2 s).

    The testable form of a latency quantile: "p95 below 2 s" holds exactly when
    at most 5 % of responses take longer than 2 s, and that share is a rate the
    guards test sequentially.
    """

    kind: Literal["share_above"]
    event: Name
    value: Name
    """The event attribute compared with the threshold (`latency_ms`)."""
    threshold: float
    """Events whose value is above this count on top."""


class CountMetric(_MetricBase):
    """How many events of this name occur during a stage."""

    kind: Literal["count"]
    event: Name | None = None
    """The event counted; not for an external query."""


class MeanMetric(_MetricBase):
    """The mean of a numeric event attribute (CSAT score)."""

    kind: Literal["mean"]
    event: Name | None = None
    value: Name | None = None
    """The event attribute averaged (`score`)."""


class QuantileMetric(_MetricBase):
    """A quantile of a numeric event attribute (p95 latency), for reports.

    Criteria cannot test a quantile; they test a `share_above` metric instead.
    """

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
    | ShareAboveMetric
    | CountMetric
    | MeanMetric
    | QuantileMetric
    | UniqueActorsMetric,
    Field(discriminator="kind"),
]
"""One metric definition, chosen by its `kind`."""
