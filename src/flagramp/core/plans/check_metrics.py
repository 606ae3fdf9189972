"""Checks on metric definitions: declared events, values, where numbers come from."""

from __future__ import annotations

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans.checker import Checker
from flagramp.core.plans.declared_events import REQUEST_VALUES, EventKind
from flagramp.core.plans.metrics import (
    CountMetric,
    MeanMetric,
    Metric,
    QuerySource,
    RatioMetric,
)
from flagramp.core.plans.problems import Loc

#: Kinds an external query can serve: totals per variant, no users, no values.
_QUERY_KINDS = frozenset({MetricKind.RATIO, MetricKind.COUNT, MetricKind.MEAN})


def check_metrics(checker: Checker) -> None:
    """Every metric reads declared events (or a query) in a way it can compute."""
    for name, metric in checker.plan.metrics.items():
        loc: Loc = ("metrics", name)
        checker.rules((*loc, "where"), metric.where)
        if isinstance(metric.source, QuerySource):
            _query(checker, loc, metric, metric.source)
        else:
            _pushed(checker, loc, metric)


def _query(checker: Checker, loc: Loc, metric: Metric, source: QuerySource) -> None:
    kind = metric.metric_kind
    if kind not in _QUERY_KINDS:
        checker.add(
            (*loc, "source"),
            f"a {kind.value} metric needs users or values that a query does not "
            "give; push the events instead",
            "use kind: ratio, count or mean with a query",
        )
        return
    needs_denominator = kind in (MetricKind.RATIO, MetricKind.MEAN)
    if needs_denominator and source.denominator_query is None:
        checker.add(
            (*loc, "source", "denominator_query"),
            f"a {kind.value} read from a query needs `denominator_query`",
        )
    if not needs_denominator and source.denominator_query is not None:
        checker.add(
            (*loc, "source", "denominator_query"),
            "a count has no denominator; remove `denominator_query`",
        )
    for field in ("event", "numerator", "denominator", "value"):
        if getattr(metric, field, None) is not None:
            checker.add(
                (*loc, field),
                f"a metric read from a query takes no `{field}`; the query says "
                "what it counts",
            )


def _pushed(checker: Checker, loc: Loc, metric: Metric) -> None:
    required: tuple[str, ...] = ("event",)
    if isinstance(metric, RatioMetric):
        required = ("numerator", "denominator")
    elif isinstance(metric, MeanMetric):
        required = ("event", "value")
    for field in required:
        if getattr(metric, field, None) is None:
            checker.add((*loc, field), "is required", f"add `{field}:` (an event name)")
    for field in ("event", "numerator", "denominator"):
        name = getattr(metric, field, None)
        if name is None:
            continue
        declared = checker.event((*loc, field), name)
        if declared is None:
            continue
        if not declared.actor and not isinstance(metric, CountMetric):
            checker.add(
                (*loc, field),
                f"event {name!r} has no actor, so only a count can use it",
                "use kind: count, or give the events an actor",
            )
        value = getattr(metric, "value", None)
        if (
            value is not None
            and declared.kind is EventKind.REQUEST
            and value not in REQUEST_VALUES
        ):
            checker.add(
                (*loc, "value"),
                f"a request has no value {value!r}",
                f"use one of {', '.join(sorted(REQUEST_VALUES))}",
            )
