"""Plans into what the statistics run: the bridge between `core.plans` and `stats`.

`core` may not import `stats`, and `stats` does not load the plan models, so the
translation lives here, in the layer that acts on both.
"""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans.metrics import Metric, RatioMetric
from flagramp.stats.ingest import MetricSpec


def metric_spec(name: str, metric: Metric) -> MetricSpec:
    """What ingest computes for one of the plan's metric definitions."""
    events: tuple[str, ...]
    if isinstance(metric, RatioMetric):
        events = (metric.numerator, metric.denominator)
    else:
        events = (metric.event,)
    value = getattr(metric, "value", None)
    return MetricSpec(name, MetricKind(metric.kind), events, value, metric.where)


def metric_specs(metrics: Mapping[str, Metric]) -> tuple[MetricSpec, ...]:
    """Specs for all of a plan's metrics, in name order."""
    return tuple(metric_spec(n, m) for n, m in sorted(metrics.items()))
