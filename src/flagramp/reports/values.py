"""Numbers from stored windows: metric values, users, statuses, quantiles.

Every number a report shows is computed here from merged windows
(`stats.windows.merge_all`), so that it equals what the store holds: ratios and
shares are sums over the windows' user buckets in percent, counts their
numerator, quantiles the merged DDSketch, users the merged distinct-actor count
(exact up to its cap, HyperLogLog beyond).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans import Metric
from flagramp.stats.buckets import BucketSums
from flagramp.stats.sketches import DistinctActors
from flagramp.stats.windows import Lane, MetricAggregate, Window, merge_all

#: Metric kinds whose value is a ratio of the bucket sums, in percent.
PERCENT_KINDS = frozenset(
    {MetricKind.RATIO, MetricKind.SHARE_OF_USERS, MetricKind.SHARE_ABOVE}
)
#: z for the fixed-sample 95 % interval shown when the run recorded none.
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Lanes:
    """A span's windows merged per lane (None: the lane has no window)."""

    on: Window | None
    off: Window | None
    allow_listed: Window | None

    @classmethod
    def of(cls, windows: Iterable[Window]) -> Lanes:
        """Merge windows per lane."""
        by_lane: dict[Lane, list[Window]] = {lane: [] for lane in Lane}
        for window in windows:
            by_lane[window.key.lane].append(window)

        def merged(lane: Lane) -> Window | None:
            items = by_lane[lane]
            return merge_all(items) if items else None

        return cls(merged(Lane.ON), merged(Lane.OFF), merged(Lane.ALLOW_LISTED))


def unit_of(metric: Metric) -> str:
    """The unit a metric's values are shown in."""
    if metric.metric_kind in PERCENT_KINDS:
        return "%"
    if metric.unit:
        return metric.unit
    value = getattr(metric, "value", None)
    return "ms" if value == "latency_ms" else ""


def metric_value(metric: Metric, window: Window | None, name: str) -> float | None:
    """The metric's value over a merged window; None without data."""
    if window is None:
        return None
    agg = window.metrics.get(name)
    if agg is None:
        return None
    return aggregate_value(metric, agg)


def aggregate_value(metric: Metric, agg: MetricAggregate) -> float | None:
    """The value of one metric aggregate, by its kind."""
    kind = metric.metric_kind
    num, den = agg.sums.total_numerator, agg.sums.total_denominator
    if kind in PERCENT_KINDS:
        return 100.0 * num / den if den > 0 else None
    if kind is MetricKind.COUNT:
        return float(num)
    if kind is MetricKind.MEAN:
        return num / den if den > 0 else None
    if kind is MetricKind.QUANTILE:
        q = float(getattr(metric, "q", 0.5))
        return quantile(agg, q)
    # Unique actors: the distinct count when the window kept one.
    return agg.actors.estimate() if agg.actors is not None else float(num)


def quantile(agg: MetricAggregate, q: float) -> float | None:
    """A quantile of the aggregate's sketch; None without values."""
    if agg.sketch is None or agg.sketch.count == 0:
        return None
    value = agg.sketch.quantile(q)
    return None if math.isnan(value) else value


def interval95(
    metric: Metric, window: Window | None, name: str
) -> tuple[float, float] | None:
    """A fixed-sample 95 % interval of a ratio or mean, from user-bucket variance.

    Shown only where the run recorded no always-valid interval of its own.
    """
    agg = None if window is None else window.metrics.get(name)
    return sums_interval95(metric, None if agg is None else agg.sums)


def sums_interval95(
    metric: Metric, sums: BucketSums | None
) -> tuple[float, float] | None:
    """`interval95` of bucket sums: the delta-method variance between buckets."""
    if sums is None or metric.metric_kind not in (*PERCENT_KINDS, MetricKind.MEAN):
        return None
    variance = sums.ratio_variance()
    if not math.isfinite(variance):
        return None
    estimate, radius = sums.ratio(), Z95 * math.sqrt(variance)
    if metric.metric_kind in PERCENT_KINDS:
        # A rate lies in [0, 100] %: the normal interval is cut to it.
        low, high = max(0.0, estimate - radius), min(1.0, estimate + radius)
        return (100.0 * low, 100.0 * high)
    return (estimate - radius, estimate + radius)


def sums_value(metric: Metric, sums: BucketSums | None) -> float | None:
    """A ratio or mean metric's value from bucket sums alone (None otherwise)."""
    if sums is None or sums.total_denominator <= 0:
        return None
    if metric.metric_kind in PERCENT_KINDS:
        return 100.0 * sums.ratio()
    if metric.metric_kind is MetricKind.MEAN:
        return sums.ratio()
    return None


def feature_value(metric: Metric, lanes: Lanes, name: str) -> float | None:
    """The metric over the feature's users (ON and allow-listed lanes), as
    `engine.checkpoints` reads a checkpoint; None without data."""
    parts = [
        w.metrics[name]
        for w in (lanes.on, lanes.allow_listed)
        if w is not None and name in w.metrics
    ]
    if not parts:
        return None
    agg = parts[0]
    for part in parts[1:]:
        agg = agg.merge(part)
    return aggregate_value(metric, agg)


def feature_users(lanes: Lanes) -> float:
    """Distinct users of the ON and allow-listed lanes together."""
    parts = [w.actors for w in (lanes.on, lanes.allow_listed) if w is not None]
    return DistinctActors.union(parts).estimate() if parts else 0.0


def users(window: Window | None) -> float:
    """Distinct exposed actors of a merged window (0 without one)."""
    return 0.0 if window is None else window.actors.estimate()


def status_counts(window: Window | None) -> dict[tuple[str, str], int]:
    """Request events per (event name, status class) in a merged window."""
    out: dict[tuple[str, str], int] = {}
    if window is None:
        return out
    for (name, _route, status_class, _device), cell in window.breakdown.items():
        if status_class:
            key = (name, status_class)
            out[key] = out.get(key, 0) + round(cell.count)
    return out


def minutes_with_data(windows: Sequence[Window]) -> int:
    """How many distinct minutes the windows cover."""
    covered: set[int] = set()
    for window in windows:
        covered.update(range(window.key.start, window.key.end))
    return len(covered)
