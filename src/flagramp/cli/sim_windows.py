"""The simulator's fast aggregates as stats windows, without building events.

`sim` may not import `stats`, so the bridge lives here (the CLI drives the
simulator for the demo). `ScopeWindows` turns consecutive `span_aggregate`s of
one flag into the windows one ingest scope would hold, one window per span and
lane: day spans give day windows, hour spans hour windows, which is what the
store holds after compaction. A month of traffic then costs seconds, where
events through the real ingest would cost hours.

What the real ingest holds and this gives exactly (`tests/cli/test_sim_windows.py`):
exposures (first-time users per bucket, exposure events), every metric's bucket
sums, quantile sketches, fingerprint counts and users. Not exact, or not given:
`share_above` metrics (the fast mode keeps no per-value counts; they are left
out), fingerprint samples (none), breakdown value sums of business events.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from flagramp.core.flags import Segment
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim import LANES, SpanAggregate
from flagramp.sim.channels import Channel
from flagramp.sim.lane_sums import FlagSums
from flagramp.stats.batch_ingest import FIRST_TIME_KINDS, MetricSpec
from flagramp.stats.buckets import BucketSums
from flagramp.stats.sketches import (
    DEFAULT_EXACT_CAP,
    DEFAULT_RELATIVE_ACCURACY,
    DistinctActors,
    QuantileSketch,
    actor_hash,
)
from flagramp.stats.window_parts import (
    DEFAULT_BREAKDOWN_CAP,
    DEFAULT_FINGERPRINT_CAP,
    BreakdownCell,
    BreakdownKey,
    FingerprintStats,
    cap_breakdown,
    cap_fingerprints,
)
from flagramp.stats.windows import Lane, MetricAggregate, Window, WindowKey

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: The simulator's lane numbers (OFF 0, ON 1, ALLOW_LISTED 2) as stats lanes.
SIM_LANES = (Lane.OFF, Lane.ON, Lane.ALLOW_LISTED)


def spec_channels(
    channels: Sequence[Channel], spec: MetricSpec, event: str
) -> list[int]:
    """The channels a metric's `event` counts, after its `where` rules.

    A failed request (5xx) also counts as `<name>_failed`, as ingest counts it.
    """
    check = Segment.from_rules(spec.name, spec.where).compile() if spec.where else None
    chosen = []
    for i, c in enumerate(channels):
        names = {c.name}
        if c.is_request and c.status is not None and c.status >= 500:
            names.add(f"{c.name}_failed")
        if event in names and (check is None or check(c.properties())):
            chosen.append(i)
    return chosen


class ScopeWindows:
    """One ingest scope (run string, flag) fed with consecutive span aggregates.

    Keeps which users already counted for the first time (exposures and users
    metrics, per lane), as the scope's marks do. Not thread-safe.
    """

    def __init__(
        self,
        run: str,
        flag: str,
        specs: Sequence[MetricSpec],
        *,
        exact_cap: int = DEFAULT_EXACT_CAP,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
    ) -> None:
        self.run, self.flag = run, flag
        self.specs = tuple(s for s in specs if s.kind is not MetricKind.SHARE_ABOVE)
        self.exact_cap = exact_cap
        self.relative_accuracy = relative_accuracy
        self._hashes: IntArray | None = None
        self._seen: dict[tuple[str, int], npt.NDArray[np.bool_]] = {}
        self._channels: dict[str, tuple[list[int], list[int]]] = {}

    def add(self, agg: SpanAggregate) -> tuple[Window, ...]:
        """The span's windows, one per lane with exposures or outcomes."""
        if self._hashes is None:
            self._hashes = np.array([actor_hash(a) for a in agg.actors], np.int64)
            for spec in self.specs:
                first = spec_channels(agg.channels, spec, spec.events[0])
                second = (
                    spec_channels(agg.channels, spec, spec.events[1])
                    if len(spec.events) > 1
                    else []
                )
                self._channels[spec.name] = (first, second)
        sums = agg.flags[self.flag]
        out = []
        for li in range(LANES):
            if sums.exposures[li].sum() == 0 and sums.counts[li].sum() == 0:
                continue
            out.append(self._window(agg, sums, li))
        return tuple(out)

    def _new(self, mark: str, lane: int, users: IntArray, size: int) -> IntArray:
        seen = self._seen.get((mark, lane))
        if seen is None:
            seen = self._seen[(mark, lane)] = np.zeros(size, dtype=bool)
        new = users[~seen[users]]
        seen[new] = True
        return new

    def _actors(self, users: IntArray) -> DistinctActors:
        assert self._hashes is not None
        return DistinctActors.of(self._hashes[users].tolist(), self.exact_cap)

    def _window(self, agg: SpanAggregate, sums: FlagSums, li: int) -> Window:
        size = len(agg.actors)
        exposed = sums.exposed_users(li)
        first_time = _per_bucket(agg, sums, self._new("(exposed)", li, exposed, size))
        metrics = {}
        for spec in self.specs:
            chs, den_chs = self._channels[spec.name]
            metrics[spec.name] = self._metric(
                agg, spec, sums, li, (chs, den_chs), first_time
            )
        return Window(
            WindowKey(self.run, self.flag, SIM_LANES[li], agg.start, agg.end),
            BucketSums(first_time, sums.exposures[li].astype(np.float64)),
            self._actors(exposed),
            metrics,
            cap_breakdown(_breakdown(agg, sums, li), DEFAULT_BREAKDOWN_CAP),
            cap_fingerprints(
                self._fingerprints(agg, sums, li), DEFAULT_FINGERPRINT_CAP
            ),
        )

    def _metric(
        self,
        agg: SpanAggregate,
        spec: MetricSpec,
        sums: FlagSums,
        li: int,
        channels: tuple[list[int], list[int]],
        first_time: FloatArray,
    ) -> MetricAggregate:
        chs, den_chs = channels
        counts = sums.counts[li]
        if spec.kind is MetricKind.RATIO:
            return MetricAggregate(
                spec.kind, BucketSums(counts[chs].sum(0), counts[den_chs].sum(0))
            )
        if spec.kind is MetricKind.COUNT:
            return MetricAggregate(
                spec.kind, BucketSums(counts[chs].sum(0), first_time)
            )
        if spec.kind in (MetricKind.MEAN, MetricKind.QUANTILE):
            agg_sums = BucketSums(
                sums.value_sums[li][chs].sum(0), sums.value_counts[li][chs].sum(0)
            )
            sketch = (
                self._sketch(sums, li, chs)
                if spec.kind is MetricKind.QUANTILE
                else None
            )
            return MetricAggregate(spec.kind, agg_sums, None, sketch)
        assert spec.kind in FIRST_TIME_KINDS
        parts = [sums.users_of(li, c) for c in chs]
        users = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        new = self._new(spec.name, li, users, len(agg.actors))
        return MetricAggregate(
            spec.kind,
            BucketSums(_per_bucket(agg, sums, new), first_time.copy()),
            self._actors(users),
        )

    def _sketch(self, sums: FlagSums, li: int, chs: list[int]) -> QuantileSketch:
        pairs = [sums.value_bins(li, c) for c in chs]
        keys = np.concatenate([k for k, _ in pairs]) if pairs else np.zeros(0, np.int64)
        counts = np.concatenate([n for _, n in pairs]) if pairs else np.zeros(0)
        unique, inverse = np.unique(keys, return_inverse=True)
        merged = np.bincount(inverse, weights=counts, minlength=unique.shape[0])
        none_i, none_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        present = [c for c in chs if sums.value_counts[li][c].sum() > 0]
        return QuantileSketch(
            self.relative_accuracy,
            unique.astype(np.int64),
            merged.astype(np.float64),
            none_i,
            none_f,
            zero_count=float(sums.value_zero[li][chs].sum()),
            total=float(sums.value_sums[li][chs].sum()),
            minimum=float(sums.value_min[li][present].min()) if present else np.inf,
            maximum=float(sums.value_max[li][present].max()) if present else -np.inf,
        )

    def _fingerprints(
        self, agg: SpanAggregate, sums: FlagSums, li: int
    ) -> dict[str, FingerprintStats]:
        out = {}
        for f, name in enumerate(agg.fingerprints):
            count = int(sums.fingerprint_counts[li, f])
            if count == 0:
                continue
            users = sums.fingerprint_user_ids(li, f)
            first = float(sums.fingerprint_first[li, f]) * 60.0
            out[name] = FingerprintStats(count, self._actors(users), first, (), 3)
        return out


def _per_bucket(agg: SpanAggregate, sums: FlagSums, users: IntArray) -> FloatArray:
    buckets = sums.counts.shape[2]
    return np.bincount(agg.user_bucket[users], minlength=buckets).astype(np.float64)


def _breakdown(
    agg: SpanAggregate, sums: FlagSums, li: int
) -> dict[BreakdownKey, BreakdownCell]:
    out: dict[BreakdownKey, BreakdownCell] = {}
    totals = sums.counts[li].sum(1)
    values = sums.value_sums[li].sum(1)
    for c in np.flatnonzero(totals).tolist():
        ch = agg.channels[c]
        status = "" if ch.status is None else f"{ch.status // 100}xx"
        key = (ch.name, ch.route or "", status, ch.device.value)
        failed = totals[c] if ch.is_request and (ch.status or 0) >= 500 else 0.0
        cell = BreakdownCell(float(totals[c]), float(failed), float(values[c]))
        mine = out.get(key)
        out[key] = cell if mine is None else mine.merge(cell)
    return out
