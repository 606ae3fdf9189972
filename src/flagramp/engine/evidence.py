"""A stage's windows summed per lane, and what a rollback's verification counts.

`lane_totals` is what `engine.evaluate` decides on: per lane (on, off,
allow-listed), the bucket sums of the exposures and of every metric, the error
fingerprints merged, the requests, and the last minute with exposures or metric
events. It adds the bucket arrays with numpy instead of merging windows pairwise
(`stats.windows.merge_all`, which also merges breakdown rows, HLL sketches and
quantile sketches that no decision reads): the sums are the same, exactly, since
windows hold quantised values whose float sums are exact.

Users per lane are the sums of `exposed.numerator`: actors exposed for the first
time in the ingest scope, which the engine opens per stage attempt
(`stats.scope_state`), so they are the stage's distinct users per lane, exactly,
with no HyperLogLog error in the sample-ratio check.

`treatment_exposures_since` and `treatment_share_since` read the windows after a
rollback (seed 003's "confirm traffic routing back").
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.buckets import BucketSums
from flagramp.stats.sketches import DistinctActors
from flagramp.stats.windows import FingerprintStats, Lane, Window

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "LaneTotals",
    "lane_totals",
    "share_is_consistent",
    "treatment_exposures_since",
    "treatment_share_since",
]


@dataclass(frozen=True, slots=True, eq=False)
class LaneTotals:
    """One lane's windows of a stage, summed."""

    lane: Lane
    exposed: BucketSums
    """numerator: users exposed for the first time in the scope; denominator:
    exposure events."""
    metrics: Mapping[str, BucketSums]
    kinds: Mapping[str, MetricKind]
    fingerprint_parts: Mapping[str, Sequence[FingerprintStats]]
    """Per fingerprint, its record in each window (merged on demand: most
    evaluations only need the names of control's)."""
    requests: int
    """Request events (breakdown rows with a status class)."""
    last_exposure: int | None
    """The last epoch minute with an exposure, None if there was none."""
    last_metric_event: Mapping[str, int]
    """Per metric, the last epoch minute its denominator counted something."""

    @property
    def users(self) -> int:
        """Distinct users exposed in the lane in the stage (scope)."""
        return round(self.exposed.total_numerator)

    def fingerprints(self) -> dict[str, FingerprintStats]:
        """Every fingerprint of the lane, its windows' records merged."""
        return {
            name: p[0] if len(p) == 1 else FingerprintStats.merge_all(p)
            for name, p in self.fingerprint_parts.items()
        }

    def metric(self, name: str) -> BucketSums | None:
        """The metric's sums, None when no window of the lane holds it."""
        return self.metrics.get(name)


def _sum(rows: Sequence[FloatArray]) -> FloatArray:
    # The sums are exact (quantised values), so numpy's pairwise order is fine.
    return np.asarray(np.sum(rows, axis=0), dtype=np.float64)


def _last_minute(windows: Sequence[Window], rows: Sequence[FloatArray]) -> int | None:
    # The end of the last window whose row counted anything: latest first, so
    # that a stage with data now looks at one row.
    order = sorted(range(len(windows)), key=lambda i: -windows[i].key.end)
    for i in order:
        if rows[i].any():
            return windows[i].key.end - 1
    return None


def _lane(
    lane: Lane, windows: Sequence[Window], wanted: Collection[str] | None
) -> LaneTotals:
    exposed = BucketSums(
        _sum([w.exposed.numerator for w in windows]),
        _sum([w.exposed.denominator for w in windows]),
    )
    by_metric: dict[str, list[Window]] = {}
    for w in windows:
        for name in w.metrics:
            if wanted is None or name in wanted:
                by_metric.setdefault(name, []).append(w)
    metrics: dict[str, BucketSums] = {}
    kinds: dict[str, MetricKind] = {}
    last_event: dict[str, int] = {}
    for name, having in by_metric.items():
        dens = [w.metrics[name].sums.denominator for w in having]
        metrics[name] = BucketSums(
            _sum([w.metrics[name].sums.numerator for w in having]), _sum(dens)
        )
        kinds[name] = having[0].metrics[name].kind
        last = _last_minute(having, dens)
        if last is not None:
            last_event[name] = last
    parts: dict[str, list[FingerprintStats]] = {}
    for w in windows:
        for name, stats in w.fingerprints.items():
            parts.setdefault(name, []).append(stats)
    requests = sum(
        cell.count for w in windows for key, cell in w.breakdown.items() if key[2]
    )
    return LaneTotals(
        lane,
        exposed,
        metrics,
        kinds,
        parts,
        round(requests),
        _last_minute(windows, [w.exposed.denominator for w in windows]),
        last_event,
    )


def lane_totals(
    windows: Iterable[Window], *, metrics: Collection[str] | None = None
) -> dict[Lane, LaneTotals]:
    """The windows summed per lane; lanes without a window are left out.

    Only the `metrics` named are summed (all when None).
    """
    by_lane: dict[Lane, list[Window]] = {}
    for w in windows:
        by_lane.setdefault(w.key.lane, []).append(w)
    return {lane: _lane(lane, ws, metrics) for lane, ws in by_lane.items()}


def treatment_exposures_since(windows: Iterable[Window], minute: int) -> int:
    """Exposure events that saw the flag on in windows starting at `minute` or later.

    Counts the on lane and the allow-listed lane: after a `disable_all` or a kill
    the flag is off for everyone, allow list included, so any such exposure says
    that an SDK or a Flipper cache did not follow.
    """
    return round(
        sum(
            w.exposed.total_denominator
            for w in windows
            if w.key.start >= minute and w.key.lane is not Lane.OFF
        )
    )


def _users_since(windows: Iterable[Window], minute: int) -> tuple[float, float]:
    parts: dict[Lane, list[DistinctActors]] = {Lane.ON: [], Lane.OFF: []}
    for w in windows:
        if w.key.start >= minute and w.key.lane in parts:
            parts[w.key.lane].append(w.actors)

    def count(lane: Lane) -> float:
        items = parts[lane]
        return DistinctActors.union(items).estimate() if items else 0.0

    return count(Lane.ON), count(Lane.OFF)


def treatment_share_since(windows: Iterable[Window], minute: int) -> float | None:
    """The randomised users' share in treatment, in windows from `minute` on.

    Distinct users per lane from the windows' actor sketches (so windows of an
    earlier scope count right too); None when no randomised user was seen.
    """
    on, off = _users_since(windows, minute)
    return on / (on + off) if on + off > 0 else None


def share_is_consistent(
    windows: Iterable[Window], minute: int, expected: float, *, sigmas: float = 4.0
) -> bool | None:
    """Whether the treatment share since `minute` is within `sigmas` binomial
    standard errors of `expected` (a step back took effect); None without users.

    Rationale for the slack: the distinct counts above 64 users are HyperLogLog
    estimates (1.6 % relative error), which 4σ absorbs at any usual size.
    """
    on, off = _users_since(windows, minute)
    n = on + off
    if n <= 0:
        return None
    share = on / n
    if expected <= 0.0 or expected >= 1.0:
        # No binomial spread: every randomised user must be in the one lane.
        return (on if expected <= 0.0 else off) == 0
    se = math.sqrt(expected * (1.0 - expected) / n)
    return abs(share - expected) <= sigmas * se
