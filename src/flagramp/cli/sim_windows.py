"""Simulated traffic as stats windows, without building events.

`sim` may not import `stats`, so the bridge lives here (the CLI drives the
simulator for the demo). Two pieces, one conversion:

- `ScopeWindows` turns consecutive `span_aggregate`s of one flag into the
  windows one ingest scope (run string, flag) would hold, one window per span
  and lane: day spans give day windows, hour spans hour windows, which is what
  the store holds after compaction. It keeps the scope's first-time marks: an
  actor counts as a new exposed user (and for a share-of-users or
  unique-actors metric) once per lane in the scope, not once per span.
- `SimulatedWindows` is the demo's driver: it simulates each span of a
  `flagramp.sim.World` once and routes every flag's sums to the scope the
  engine reads for it now (`engine.scopes`), one `ScopeWindows` per scope and
  flag. It also realises the span's failed requests once more
  (`sim.outcomes`; failures are about one request in a hundred, so this is
  cheap), so that error fingerprints carry the exact time of each failure and
  their redacted samples, and incident records read as they would from real
  events.

What the real ingest holds and this gives exactly (`tests/cli/test_sim_windows.py`):
exposures (first-time users per bucket, exposure events), every metric's bucket
sums (`share_above` ones from the aggregate's counts of values above each
metric's threshold: give `span_aggregate` the `thresholds` of the specs,
`share_above_thresholds`; the driver always does), quantile sketches,
fingerprint counts and users, and with the driver fingerprint times and
samples. Not given: without the driver, fingerprint samples (none) and exact
first-seen seconds (the minute only), and a `share_above` metric whose
threshold the aggregate was not given (`ScopeWindows` leaves it out).

Flag states hold for the whole span, so cut spans where a percentage moves (the
demo ticks the controller between spans, and the controller moves flags only at
ticks).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario
from flagramp.core.flags import Segment
from flagramp.core.flags.model import Flag
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim import LANES, FlagState, Regression, SpanAggregate, World
from flagramp.sim import span_aggregate as simulate_span
from flagramp.sim.channels import Channel
from flagramp.sim.lane_sums import FlagSums
from flagramp.sim.outcomes import Outcomes, realise
from flagramp.sim.render import outcome_stamps
from flagramp.sim.span import hour_slices
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
    SampleEvent,
    cap_breakdown,
    cap_fingerprints,
)
from flagramp.stats.windows import (
    Lane,
    MetricAggregate,
    Window,
    WindowKey,
    quantise_one,
)

__all__ = [
    "SIM_LANES",
    "FailedRequest",
    "ScopeWindows",
    "SimulatedSpan",
    "SimulatedWindows",
    "flag_states",
    "share_above_thresholds",
    "spec_channels",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: The simulator's lane numbers (OFF 0, ON 1, ALLOW_LISTED 2) as stats lanes.
SIM_LANES = (Lane.OFF, Lane.ON, Lane.ALLOW_LISTED)
_EMPTY = np.zeros(0, np.int64)


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


def flag_states(
    flags: Sequence[Flag],
    segments: Mapping[str, Segment],
    bucket_keys: Mapping[str, str] | None = None,
) -> tuple[FlagState, ...]:
    """The simulator's view of flags as the store holds them (`FlagState.from_flag`)."""
    keys = bucket_keys or {}
    return tuple(
        FlagState.from_flag(f, segments, bucket_key=keys.get(f.key)) for f in flags
    )


@dataclass(frozen=True, slots=True)
class FailedRequest:
    """One failed request as ingest would record it under its fingerprint."""

    fingerprint: str
    actor: int
    """The actor's hash (`stats.sketches.actor_hash`)."""
    sample: SampleEvent


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
        hashes: Sequence[int] | None = None,
        exact_cap: int = DEFAULT_EXACT_CAP,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        samples: int = 3,
        fingerprint_cap: int = DEFAULT_FINGERPRINT_CAP,
        breakdown_cap: int = DEFAULT_BREAKDOWN_CAP,
    ) -> None:
        self.run, self.flag = run, flag
        self.specs = tuple(specs)
        self.exact_cap = exact_cap
        self.relative_accuracy = relative_accuracy
        self.samples = samples
        self.fingerprint_cap, self.breakdown_cap = fingerprint_cap, breakdown_cap
        # Rationale: blake2b per actor is the slowest step of a small span;
        # each actor is hashed once (the driver shares one list between scopes).
        self._hashes: Sequence[int] | None = hashes
        self._seen: dict[tuple[str, int], BoolArray] = {}
        self._roles: tuple[tuple[IntArray, IntArray], ...] | None = None
        self._breakdown: tuple[BreakdownKey, ...] = ()
        self._failed: BoolArray = np.zeros(0, bool)

    def add(
        self,
        agg: SpanAggregate,
        failures: Mapping[int, Sequence[FailedRequest]] | None = None,
    ) -> tuple[Window, ...]:
        """The span's windows, one per lane with exposures or outcomes.

        `failures` (by simulator lane) are the span's failed requests of this
        flag, realised (`SimulatedWindows`); without them fingerprints come from
        the aggregate: counts and users exact, first seen to the minute, no
        samples.
        """
        if self._hashes is None:
            self._hashes = [actor_hash(a) for a in agg.actors]
        if self._roles is None:
            self._roles = tuple(_roles(agg.channels, s) for s in self.specs)
            self._breakdown = tuple(_breakdown_key(c) for c in agg.channels)
            self._failed = np.array(
                [c.is_request and (c.status or 0) >= 500 for c in agg.channels], bool
            )
        sums = agg.flags[self.flag]
        out = []
        for li in range(LANES):
            if sums.exposures[li].sum() == 0 and sums.counts[li].sum() == 0:
                continue
            fingerprints = (
                self._approximate_fingerprints(agg, sums, li)
                if failures is None
                else self._realised_fingerprints(failures.get(li, ()))
            )
            out.append(self._window(agg, sums, li, fingerprints))
        return tuple(out)

    # -- one window ---------------------------------------------------------------

    def _window(
        self,
        agg: SpanAggregate,
        sums: FlagSums,
        li: int,
        fingerprints: dict[str, FingerprintStats],
    ) -> Window:
        assert self._roles is not None
        exposed = sums.exposed_users(li)
        first_time = self._per_bucket(agg, sums, self._new("", li, exposed))
        metrics = {
            spec.name: self._metric(agg, sums, li, spec, roles, first_time)
            for spec, roles in zip(self.specs, self._roles, strict=True)
            if spec.kind is not MetricKind.SHARE_ABOVE
            or spec.threshold in sums.thresholds
        }
        return Window(
            WindowKey(self.run, self.flag, SIM_LANES[li], agg.start, agg.end),
            BucketSums(first_time, sums.exposures[li].astype(np.float64)),
            self._actors(exposed),
            metrics,
            cap_breakdown(self._breakdown_cells(sums, li), self.breakdown_cap),
            cap_fingerprints(fingerprints, self.fingerprint_cap),
            self.fingerprint_cap,
            self.breakdown_cap,
        )

    def _metric(
        self,
        agg: SpanAggregate,
        sums: FlagSums,
        li: int,
        spec: MetricSpec,
        roles: tuple[IntArray, IntArray],
        first_time: FloatArray,
    ) -> MetricAggregate:
        first, second = roles
        kind = spec.kind
        counts = sums.counts[li]
        if kind is MetricKind.RATIO:
            return MetricAggregate(
                kind, BucketSums(counts[first].sum(0), counts[second].sum(0))
            )
        if kind is MetricKind.COUNT:
            return MetricAggregate(
                kind, BucketSums(counts[first].sum(0), first_time.copy())
            )
        if kind is MetricKind.SHARE_ABOVE:
            # As ingest: events with a value, and those whose value is above.
            assert spec.threshold is not None
            above = sums.above_counts(spec.threshold)[li]
            return MetricAggregate(
                kind,
                BucketSums(above[first].sum(0), sums.value_counts[li][first].sum(0)),
            )
        if kind in (MetricKind.MEAN, MetricKind.QUANTILE):
            values = BucketSums(
                sums.value_sums[li][first].sum(0), sums.value_counts[li][first].sum(0)
            )
            sketch = (
                self._sketch(sums, li, first) if kind is MetricKind.QUANTILE else None
            )
            return MetricAggregate(kind, values, None, sketch)
        assert kind in FIRST_TIME_KINDS
        parts = [sums.users_of(li, int(c)) for c in first]
        users = np.unique(np.concatenate(parts)) if parts else _EMPTY
        new = self._per_bucket(agg, sums, self._new(spec.name, li, users))
        return MetricAggregate(
            kind, BucketSums(new, first_time.copy()), self._actors(users)
        )

    def _sketch(self, sums: FlagSums, li: int, chs: IntArray) -> QuantileSketch:
        if chs.shape[0] == 0 or sums.value_counts[li][chs].sum() == 0:
            return QuantileSketch.empty(self.relative_accuracy)
        bins = [sums.value_bins(li, int(c)) for c in chs]
        keys = np.concatenate([b[0] for b in bins])
        counts = np.concatenate([b[1] for b in bins])
        unique, where = np.unique(keys, return_inverse=True)
        merged = np.bincount(where, weights=counts, minlength=unique.shape[0])
        present = [int(c) for c in chs if sums.value_counts[li][c].sum() > 0]
        none_i, none_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return QuantileSketch(
            self.relative_accuracy,
            unique.astype(np.int64),
            merged.astype(np.float64),
            none_i,
            none_f,
            zero_count=float(sums.value_zero[li][chs].sum()),
            total=float(sums.value_sums[li][chs].sum()),
            minimum=float(sums.value_min[li][present].min()),
            maximum=float(sums.value_max[li][present].max()),
        )

    def _breakdown_cells(
        self, sums: FlagSums, li: int
    ) -> dict[BreakdownKey, BreakdownCell]:
        counts = sums.counts[li].sum(axis=1)
        values = sums.value_sums[li].sum(axis=1)
        cells: dict[BreakdownKey, list[float]] = {}
        for c in np.flatnonzero(counts).tolist():
            row = cells.setdefault(self._breakdown[c], [0.0, 0.0, 0.0])
            row[0] += float(counts[c])
            row[1] += float(counts[c]) if self._failed[c] else 0.0
            row[2] += float(values[c])
        return {k: BreakdownCell(*row) for k, row in cells.items()}

    # -- fingerprints ---------------------------------------------------------------

    def _approximate_fingerprints(
        self, agg: SpanAggregate, sums: FlagSums, li: int
    ) -> dict[str, FingerprintStats]:
        out = {}
        for f, name in enumerate(agg.fingerprints):
            count = int(sums.fingerprint_counts[li, f])
            if count == 0:
                continue
            users = sums.fingerprint_user_ids(li, f)
            first = float(sums.fingerprint_first[li, f]) * 60.0
            out[name] = FingerprintStats(
                count, self._actors(users), first, (), self.samples
            )
        return out

    def _realised_fingerprints(
        self, failures: Sequence[FailedRequest]
    ) -> dict[str, FingerprintStats]:
        grouped: dict[str, list[FailedRequest]] = {}
        for f in failures:
            grouped.setdefault(f.fingerprint, []).append(f)
        cap = self.samples
        return {
            name: FingerprintStats(
                len(items),
                DistinctActors.of({f.actor for f in items}, self.exact_cap),
                min(f.sample.at for f in items),
                tuple(heapq.nsmallest(cap, {f.sample for f in items})),
                cap,
            )
            for name, items in grouped.items()
        }

    # -- marks --------------------------------------------------------------------

    def _new(self, mark: str, lane: int, users: IntArray) -> IntArray:
        """The users not yet marked for (mark, lane) in this scope; marks them."""
        assert self._hashes is not None
        seen = self._seen.get((mark, lane))
        if seen is None:
            seen = self._seen[(mark, lane)] = np.zeros(len(self._hashes), bool)
        new = users[~seen[users]]
        seen[new] = True
        return new

    def _actors(self, users: IntArray) -> DistinctActors:
        hashes = self._hashes
        assert hashes is not None
        return DistinctActors.of((hashes[u] for u in users.tolist()), self.exact_cap)

    @staticmethod
    def _per_bucket(agg: SpanAggregate, sums: FlagSums, users: IntArray) -> FloatArray:
        buckets = sums.counts.shape[2]
        return np.bincount(agg.user_bucket[users], minlength=buckets).astype(np.float64)


@dataclass(frozen=True, slots=True)
class SimulatedSpan:
    """One span's windows, and what ingest would count outside any lane.

    `environment` counts the span's environment-level events by name (those
    without an actor, such as contact-center calls: ingest attributes them to
    no lane, so the controller is given them apart).
    """

    start: int
    end: int
    windows: tuple[Window, ...]
    environment: Mapping[str, int]
    visits: int


class SimulatedWindows:
    """A run's simulated traffic as windows, span after span, scope by scope.

    Mutable: it holds each scope's first-time marks (`ScopeWindows`), so give it
    the spans of one run in order.
    """

    def __init__(
        self,
        seed: int,
        world: World,
        run: str,
        specs: Sequence[MetricSpec],
        *,
        exact_cap: int = DEFAULT_EXACT_CAP,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        samples: int = 3,
        fingerprint_cap: int = DEFAULT_FINGERPRINT_CAP,
        breakdown_cap: int = DEFAULT_BREAKDOWN_CAP,
    ) -> None:
        self.seed, self.world, self.run = seed, world, run
        self.specs = tuple(specs)
        self.exact_cap, self.samples = exact_cap, samples
        self.fingerprint_cap, self.breakdown_cap = fingerprint_cap, breakdown_cap
        self.relative_accuracy = relative_accuracy
        self._hashes: list[int] | None = None
        self._scopes: dict[tuple[str, str], ScopeWindows] = {}
        self._last_end: int | None = None

    def inject(self, *regressions: Regression) -> None:
        """Traffic from now on comes from the world with exactly these regressions.

        Regressions draw from their own random streams, so traffic they do not
        reach stays the same; the population (and so every mark) is kept.
        """
        self.world = self.world.with_regressions(*regressions)

    def span(
        self,
        start: int,
        end: int,
        flags: Sequence[FlagState],
        *,
        report: Sequence[str] | None = None,
        scopes: Mapping[str, str] | None = None,
        realised: Sequence[str] | None = None,
    ) -> SimulatedSpan:
        """Windows of epoch minutes [start, end) for the `report`ed flags (all).

        `flags` are every flag the traffic depends on, in their state for the
        whole span. Each reported flag's windows belong to its scope in
        `scopes` (default: the run string given at construction). The failed
        requests of the `realised` flags (default: all reported) are realised
        for exact fingerprint times and samples; the others' fingerprints come
        from the aggregate (counts and users exact, no samples). Spans must
        follow one another (gaps are allowed; overlaps would count minutes
        twice and raise InvalidScenario).
        """
        if self._last_end is not None and start < self._last_end:
            raise InvalidScenario("span", f"starts at {start}, before {self._last_end}")
        wanted = tuple(f.key for f in flags) if report is None else tuple(report)
        agg = simulate_span(
            self.seed,
            self.world,
            start,
            end,
            flags,
            report=wanted,
            relative_accuracy=self.relative_accuracy,
            thresholds=share_above_thresholds(self.specs),
        )
        if self._hashes is None:
            self._hashes = [actor_hash(a) for a in agg.actors]
        exact = wanted if realised is None else tuple(realised)
        failures = self._failures(agg, start, end, flags, exact) if exact else {}
        windows: list[Window] = []
        for key in wanted:
            scope = (scopes or {}).get(key, self.run)
            found = failures.get(key, {}) if key in exact else None
            windows += self._scope(scope, key).add(agg, found)
        self._last_end = end
        names = [k.name for k in self.world.model.environment]
        totals = agg.environment.sum(axis=1) if names else np.zeros(0)
        return SimulatedSpan(
            start,
            end,
            tuple(windows),
            {n: int(totals[i]) for i, n in enumerate(names)},
            int(agg.visits.sum()),
        )

    def _scope(self, scope: str, flag: str) -> ScopeWindows:
        found = self._scopes.get((scope, flag))
        if found is None:
            found = self._scopes[(scope, flag)] = ScopeWindows(
                scope,
                flag,
                self.specs,
                hashes=self._hashes,
                exact_cap=self.exact_cap,
                relative_accuracy=self.relative_accuracy,
                samples=self.samples,
                fingerprint_cap=self.fingerprint_cap,
                breakdown_cap=self.breakdown_cap,
            )
        return found

    # -- error fingerprints ---------------------------------------------------------

    def _failures(
        self,
        agg: SpanAggregate,
        start: int,
        end: int,
        flags: Sequence[FlagState],
        wanted: Sequence[str],
    ) -> dict[str, dict[int, list[FailedRequest]]]:
        """The span's failed requests of each reported flag, by simulator lane."""
        rows = {f.key: r for r, f in enumerate(flags)}
        out: dict[str, dict[int, list[FailedRequest]]] = {}
        names = self.world.fingerprint_names()
        for a, b in hour_slices(start, end):
            found = realise(self.seed, self.world, a, b, flags)
            failed = np.flatnonzero(found.request_fingerprint >= 0)
            if failed.shape[0] == 0:
                continue
            stamps = _request_stamps(found)[failed]
            visits = found.request_visit[failed]
            for key in wanted:
                lanes = found.visit_lanes[rows[key]][visits]
                for j in np.flatnonzero(lanes >= 0).tolist():
                    request = self._failure(
                        agg, found, names, int(failed[j]), float(stamps[j])
                    )
                    out.setdefault(key, {}).setdefault(int(lanes[j]), []).append(
                        request
                    )
        return out

    def _failure(
        self,
        agg: SpanAggregate,
        found: Outcomes,
        names: Sequence[str],
        request: int,
        stamp: float,
    ) -> FailedRequest:
        assert self._hashes is not None
        channel = agg.channels[int(found.request_channel[request])]
        user = int(found.visit_user[int(found.request_visit[request])])
        h = self._hashes[user]
        # What `RequestOutcome.at.timestamp()` gives: datetimes hold microseconds.
        at = dt.datetime.fromtimestamp(stamp, tz=dt.UTC).timestamp()
        sample = SampleEvent(
            at,
            f"{h:016x}"[:8],
            channel.route or "",
            channel.status or 200,
            quantise_one(float(found.request_latency[request])),
            channel.device.value,
        )
        return FailedRequest(names[int(found.request_fingerprint[request])], h, sample)


def share_above_thresholds(specs: Sequence[MetricSpec]) -> tuple[float, ...]:
    """The thresholds of the `share_above` specs, each once, for `span_aggregate`."""
    return tuple(
        dict.fromkeys(
            float(s.threshold)
            for s in specs
            if s.kind is MetricKind.SHARE_ABOVE and s.threshold is not None
        )
    )


def _roles(channels: Sequence[Channel], spec: MetricSpec) -> tuple[IntArray, IntArray]:
    """The channels feeding a metric's first and second event, as arrays."""
    first = np.array(spec_channels(channels, spec, spec.events[0]), np.int64)
    if len(spec.events) < 2:
        return first, _EMPTY
    return first, np.array(spec_channels(channels, spec, spec.events[1]), np.int64)


def _breakdown_key(c: Channel) -> BreakdownKey:
    if c.is_request:
        status = c.status or 200
        return (c.name, c.route or "", f"{status // 100}xx", c.device.value)
    return (c.name, c.route or "", "", c.device.value)


def _request_stamps(found: Outcomes) -> FloatArray:
    """Each request's epoch second, as `sim.render` dates its event."""
    order, stamps, _ = outcome_stamps(found)
    out = np.empty(found.request_visit.shape[0])
    is_request = order < out.shape[0]
    out[order[is_request]] = stamps[is_request]
    return out
