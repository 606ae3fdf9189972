"""The aggregate mode gives exactly what the real ingest makes of the events.

This is how a caller (the demo) turns `span_aggregate` into stats windows
without events: the conversion below is the reference for it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from flagramp.core.flags import Segment
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim import SpanAggregate, span_aggregate, span_batches
from flagramp.stats.ingest import MetricSpec, WindowIngest
from flagramp.stats.windows import Lane, merge_all
from tests.sim.worlds import MONDAY, flags, small_world

FloatArray = npt.NDArray[np.float64]
LANES = {Lane.OFF: 0, Lane.ON: 1, Lane.ALLOW_LISTED: 2}

SPECS = (
    MetricSpec("error_rate", MetricKind.RATIO, ("api_request_failed", "api_request")),
    MetricSpec("api_errors", MetricKind.RATIO, ("api_error", "api_request")),
    MetricSpec(
        "abandonment", MetricKind.RATIO, ("scheduling_abandoned", "scheduling_started")
    ),
    MetricSpec("timeouts", MetricKind.COUNT, ("api_timeout",)),
    MetricSpec("csat", MetricKind.MEAN, ("csat_response",), value="score"),
    MetricSpec(
        "latency_p95",
        MetricKind.QUANTILE,
        ("api_request",),
        value="latency_ms",
        where=("route == /appointments",),
    ),
    MetricSpec(
        "radio_clicks",
        MetricKind.COUNT,
        ("rum_click",),
        where=("target == care_system_radio",),
    ),
    MetricSpec(
        "straight_to_start",
        MetricKind.SHARE_OF_USERS,
        ("page_view",),
        where=("route == /start-message", "referrer == /recent"),
    ),
    MetricSpec("unique_users", MetricKind.UNIQUE_ACTORS, ("api_request",)),
    MetricSpec(
        "mobile_starters",
        MetricKind.SHARE_OF_USERS,
        ("scheduling_started",),
        where=("device in [mobile]",),
    ),
)


def _channels(agg: SpanAggregate, spec: MetricSpec, event: str) -> list[int]:
    check = Segment.from_rules(spec.name, spec.where).compile() if spec.where else None
    chosen = []
    for i, c in enumerate(agg.channels):
        names = {c.name}
        if c.is_request and c.status is not None and c.status >= 500:
            names.add(f"{c.name}_failed")
        if event in names and (check is None or check(c.properties())):
            chosen.append(i)
    return chosen


def converted(
    agg: SpanAggregate, flag: str, lane: int, spec: MetricSpec
) -> tuple[FloatArray, FloatArray]:
    """A metric's bucket sums for one span, as a fresh ingest scope would hold them."""
    sums = agg.flags[flag]
    buckets = sums.counts.shape[2]

    def per_bucket(users: npt.NDArray[np.int64]) -> FloatArray:
        return np.bincount(agg.user_bucket[users], minlength=buckets).astype(float)

    first_time = per_bucket(sums.exposed_users(lane))
    chs = _channels(agg, spec, spec.events[0])
    if spec.kind is MetricKind.RATIO:
        den_chs = _channels(agg, spec, spec.events[1])
        return sums.counts[lane][chs].sum(0), sums.counts[lane][den_chs].sum(0)
    if spec.kind is MetricKind.COUNT:
        return sums.counts[lane][chs].sum(0), first_time
    if spec.kind in (MetricKind.MEAN, MetricKind.QUANTILE):
        return sums.value_sums[lane][chs].sum(0), sums.value_counts[lane][chs].sum(0)
    users = np.unique(np.concatenate([sums.users_of(lane, c) for c in chs]))
    return per_bucket(users), first_time


@pytest.mark.parametrize("percentage", [0.0, 30.0, 100.0])
def test_ingested_events_equal_converted_aggregates(percentage: float) -> None:
    world = small_world(visits_per_day=20_000)
    start, end = MONDAY + 600, MONDAY + 690
    states = flags(percentage)
    agg = span_aggregate(8, world, start, end, states)
    ingest = WindowIngest("run-1", "new_flow", SPECS)
    unattributed = 0
    for batch in span_batches(8, world, start, end, states):
        unattributed += ingest.add_batch(batch).unattributed
    # Environment-level events have no actor: the ingest attributes them to no lane.
    assert unattributed == agg.environment.sum() > 0
    windows = ingest.windows()
    lanes_seen = {w.key.lane for w in windows}
    assert (Lane.ON in lanes_seen) is (percentage > 0)
    assert (Lane.OFF in lanes_seen) is (percentage < 100)
    sums = agg.flags["new_flow"]
    for lane in lanes_seen:
        total = merge_all([w for w in windows if w.key.lane is lane])
        i = LANES[lane]
        users = sums.exposed_users(i)
        first = np.bincount(agg.user_bucket[users], minlength=256)
        assert np.array_equal(total.exposed.numerator, first)
        assert np.array_equal(total.exposed.denominator, sums.exposures[i])
        for spec in SPECS:
            num, den = converted(agg, "new_flow", i, spec)
            got = total.metrics[spec.name].sums
            assert np.array_equal(got.numerator, num), spec.name
            assert np.array_equal(got.denominator, den), spec.name
        sketch = total.metrics["latency_p95"].sketch
        assert sketch is not None
        chs = _channels(agg, SPECS[5], "api_request")
        keys = np.concatenate([sums.value_bins(i, c)[0] for c in chs])
        counts = np.concatenate([sums.value_bins(i, c)[1] for c in chs])
        merged = np.bincount(np.unique(keys, return_inverse=True)[1], weights=counts)
        assert np.array_equal(sketch.keys, np.unique(keys))
        assert np.array_equal(sketch.counts, merged)
        assert sketch.minimum == sums.value_min[i][chs].min()
        assert sketch.maximum == sums.value_max[i][chs].max()
        for f, name in enumerate(agg.fingerprints):
            stats = total.fingerprints.get(name)
            count = int(sums.fingerprint_counts[i, f])
            assert (stats.count if stats else 0) == count
            if stats is not None and stats.actors.is_exact:
                hit = sums.fingerprint_user_ids(i, f).shape[0]
                assert stats.actors.estimate() == hit
