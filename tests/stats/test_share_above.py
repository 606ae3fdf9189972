"""share_above: the share of events whose value is above a threshold (slow requests),
the testable form of a latency quantile."""

from __future__ import annotations

import pytest

from flagramp.core.errors import StatsError
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.buckets import bucket_of
from flagramp.stats.ingest import MetricSpec, WindowIngest
from tests.stats.test_windows import expose, ingest, req, window

SLOW = MetricSpec(
    "slow", MetricKind.SHARE_ABOVE, ("request",), "latency_ms", threshold=2000.0
)


def test_share_above_counts_events_over_the_threshold_per_actor_bucket() -> None:
    pipe = ingest(
        expose("a"),
        expose("b"),
        req("a", latency_ms=2500.0),
        req("a", latency_ms=2000.0),  # at the threshold: not above it
        req("b", latency_ms=100.0),
        req("b", latency_ms=9000.0, status=500),
        specs=(SLOW,),
    )
    sums = window(pipe).metrics["slow"].sums
    assert (sums.total_numerator, sums.total_denominator) == (2, 4)
    assert (sums.numerator[bucket_of("a")], sums.denominator[bucket_of("a")]) == (1, 2)
    assert (sums.numerator[bucket_of("b")], sums.denominator[bucket_of("b")]) == (1, 2)


def test_share_above_needs_a_value_and_a_threshold() -> None:
    with pytest.raises(StatsError, match="needs a value and a threshold"):
        WindowIngest("run", "f", (MetricSpec("s", MetricKind.SHARE_ABOVE, ("r",)),))
