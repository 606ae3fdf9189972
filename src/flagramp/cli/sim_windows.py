"""Simulated traffic straight into a run's windows, without building events.

`SimulatedWindows` turns a span of virtual minutes of a `flagramp.sim.World`
into `stats.windows.Window`s per (flag, lane, span), exactly as ingesting the
same traffic as events (`sim.span_batches` into one `stats.ingest.WindowIngest`
per flag, then merging a span's minute windows) would hold them. The sums come
from `sim.span_aggregate` (a day costs well under a second); the conversion is
the one `tests/sim/test_stats_windows.py` pins, plus what a fresh scope does not
need:

- first-time marks carry over between spans, as an ingest scope keeps them: an
  actor counts as a new exposed user (and for a share-of-users or unique-actors
  metric) once per lane in the whole run, not once per span;
- error fingerprints keep the exact time of each failure and their redacted
  samples, so incident records read as they would from real events. For that
  the failed requests of each hour are realised once more (`sim.outcomes`),
  which is cheap: failures are about one request in a hundred.

Spans may be a minute, an hour or a day: windows of any span merge exactly, and
the engine reads windows by their start and end. Flag states hold for the whole
span, so cut spans where a percentage moves (the demo ticks the controller
between spans, and the controller moves flags only at ticks).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario
from flagramp.core.flags import Segment
from flagramp.core.flags.model import Flag
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim import (
    Channel,
    FlagState,
    FlagSums,
    Regression,
    SpanAggregate,
    World,
)
from flagramp.sim import span_aggregate as simulate_span
from flagramp.sim.channels import channel_table
from flagramp.sim.outcomes import Outcomes, realise
from flagramp.sim.population import population_ids
from flagramp.sim.span import hour_slices
from flagramp.stats.buckets import BucketSums
from flagramp.stats.ingest import MetricSpec
from flagramp.stats.ingest_values import FIRST_TIME_KINDS
from flagramp.stats.sketches import (
    DEFAULT_EXACT_CAP,
    DEFAULT_RELATIVE_ACCURACY,
    DistinctActors,
    QuantileSketch,
    actor_hash,
)
from flagramp.stats.windows import (
    DEFAULT_BREAKDOWN_CAP,
    DEFAULT_FINGERPRINT_CAP,
    BreakdownCell,
    BreakdownKey,
    FingerprintStats,
    Lane,
    MetricAggregate,
    SampleEvent,
    Window,
    WindowKey,
    cap_breakdown,
    cap_fingerprints,
    quantise_one,
)

__all__ = ["SimulatedSpan", "SimulatedWindows", "flag_states"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_PerBucket = Callable[[IntArray], FloatArray]

#: The simulator's lane numbers (`sim.assignment`) as stats lanes.
_LANES = ((0, Lane.OFF), (1, Lane.ON), (2, Lane.ALLOW_LISTED))
# Do not change: `sim.render` spreads a visit's events over these seconds; the
# fingerprints' times below must be the ones its events carry.
_VISIT_SECONDS = 30.0
_UNSUPPORTED = frozenset({MetricKind.SHARE_ABOVE})


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


class SimulatedWindows:
    """A run's simulated traffic as windows, span after span; remembers marks.

    Mutable: it holds the run's first-time marks (who was already counted as a
    new user in each flag and lane), so give it the spans of one run in order.
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
        for spec in specs:
            if spec.kind in _UNSUPPORTED:
                raise InvalidScenario(
                    f"metric {spec.name!r}",
                    f"the simulated windows do not compute {spec.kind} metrics",
                )
        self.seed, self.world, self.run = seed, world, run
        self.specs = tuple(specs)
        self.exact_cap = exact_cap
        self.relative_accuracy = relative_accuracy
        self.samples = samples
        self.fingerprint_cap, self.breakdown_cap = fingerprint_cap, breakdown_cap
        self._ids = population_ids(seed, world.population)
        # Rationale: blake2b per actor is the slowest step of a small span;
        # each actor is hashed once per run.
        self._hashes = [actor_hash(a) for a in self._ids]
        self._channels = channel_table(world.model, world.population).channels
        self._fingerprint_names = world.fingerprint_names()
        self._roles = tuple(_spec_channels(self._channels, s) for s in self.specs)
        self._breakdown = tuple(_breakdown_key(c) for c in self._channels)
        self._failed = np.array(
            [c.is_request and (c.status or 0) >= 500 for c in self._channels]
        )
        self._marks: dict[tuple[str, Lane, str], BoolArray] = {}
        self._last_end: int | None = None

    def inject(self, *regressions: Regression) -> None:
        """Traffic from now on comes from the world with exactly these regressions.

        Regressions draw from their own random streams, so traffic they do not
        reach stays the same; the population (and so every mark) is kept.
        """
        self.world = self.world.with_regressions(*regressions)
        self._fingerprint_names = self.world.fingerprint_names()

    def span(
        self,
        start: int,
        end: int,
        flags: Sequence[FlagState],
        *,
        report: Sequence[str] | None = None,
    ) -> SimulatedSpan:
        """Windows of epoch minutes [start, end) for the `report`ed flags (all).

        `flags` are every flag the traffic depends on, in their state for the
        whole span. Spans must follow one another (gaps are allowed; overlaps
        would count minutes twice and raise InvalidScenario).
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
        )
        failures = self._failures(start, end, flags, wanted)
        windows: list[Window] = []
        for key in wanted:
            for lane_index, lane in _LANES:
                window = self._window(agg, key, lane_index, lane, failures)
                if window is not None:
                    windows.append(window)
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

    # -- one window ---------------------------------------------------------------

    def _window(
        self,
        agg: SpanAggregate,
        flag: str,
        lane_index: int,
        lane: Lane,
        failures: Mapping[tuple[str, int], list[_Failure]],
    ) -> Window | None:
        sums = agg.flags[flag]
        exposed = sums.exposed_users(lane_index)
        if exposed.shape[0] == 0:
            return None
        buckets = sums.counts.shape[2]
        bucket_of = agg.user_bucket

        def per_bucket(users: IntArray) -> FloatArray:
            return np.bincount(bucket_of[users], minlength=buckets).astype(np.float64)

        first_time = per_bucket(self._first(flag, lane, "", exposed))
        metrics = {
            spec.name: self._metric(
                sums, flag, lane_index, lane, spec, roles, first_time, per_bucket
            )
            for spec, roles in zip(self.specs, self._roles, strict=True)
        }
        return Window(
            WindowKey(self.run, flag, lane, agg.start, agg.end),
            BucketSums(first_time, sums.exposures[lane_index].astype(np.float64)),
            self._actors(exposed),
            metrics,
            cap_breakdown(self._breakdown_cells(sums, lane_index), self.breakdown_cap),
            cap_fingerprints(
                self._fingerprints(failures.get((flag, lane_index), [])),
                self.fingerprint_cap,
            ),
            self.fingerprint_cap,
            self.breakdown_cap,
        )

    def _metric(
        self,
        sums: FlagSums,
        flag: str,
        i: int,
        lane: Lane,
        spec: MetricSpec,
        roles: tuple[IntArray, IntArray],
        first_time: FloatArray,
        per_bucket: _PerBucket,
    ) -> MetricAggregate:
        first, second = roles
        kind = spec.kind
        if kind is MetricKind.RATIO:
            return MetricAggregate(
                kind,
                BucketSums(sums.counts[i][first].sum(0), sums.counts[i][second].sum(0)),
            )
        if kind is MetricKind.COUNT:
            return MetricAggregate(
                kind, BucketSums(sums.counts[i][first].sum(0), first_time.copy())
            )
        if kind in (MetricKind.MEAN, MetricKind.QUANTILE):
            values = BucketSums(
                sums.value_sums[i][first].sum(0), sums.value_counts[i][first].sum(0)
            )
            sketch = None
            if kind is MetricKind.QUANTILE:
                sketch = self._sketch(sums, i, first)
            return MetricAggregate(kind, values, None, sketch)
        assert kind in FIRST_TIME_KINDS
        parts = [sums.users_of(i, int(c)) for c in first]
        users = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        new = per_bucket(self._first(flag, lane, spec.name, users))
        return MetricAggregate(
            kind, BucketSums(new, first_time.copy()), self._actors(users)
        )

    def _sketch(self, sums: FlagSums, i: int, chs: IntArray) -> QuantileSketch:
        if chs.shape[0] == 0 or sums.value_counts[i][chs].sum() == 0:
            return QuantileSketch.empty(self.relative_accuracy)
        bins = [sums.value_bins(i, int(c)) for c in chs]
        keys = np.concatenate([b[0] for b in bins])
        counts = np.concatenate([b[1] for b in bins])
        unique, where = np.unique(keys, return_inverse=True)
        merged = np.bincount(where, weights=counts, minlength=unique.shape[0])
        none_i, none_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return QuantileSketch(
            self.relative_accuracy,
            unique.astype(np.int64),
            merged.astype(np.float64),
            none_i,
            none_f,
            zero_count=float(sums.value_zero[i][chs].sum()),
            total=float(sums.value_sums[i][chs].sum()),
            minimum=float(sums.value_min[i][chs].min()),
            maximum=float(sums.value_max[i][chs].max()),
        )

    def _breakdown_cells(
        self, sums: FlagSums, i: int
    ) -> dict[BreakdownKey, BreakdownCell]:
        counts = sums.counts[i].sum(axis=1)
        values = sums.value_sums[i].sum(axis=1)
        cells: dict[BreakdownKey, list[float]] = {}
        for c in np.flatnonzero(counts).tolist():
            row = cells.setdefault(self._breakdown[c], [0.0, 0.0, 0.0])
            row[0] += float(counts[c])
            row[1] += float(counts[c]) if self._failed[c] else 0.0
            row[2] += float(values[c])
        return {k: BreakdownCell(*row) for k, row in cells.items()}

    def _actors(self, users: IntArray) -> DistinctActors:
        hashes = self._hashes
        return DistinctActors.of((hashes[u] for u in users.tolist()), self.exact_cap)

    def _first(self, flag: str, lane: Lane, mark: str, users: IntArray) -> IntArray:
        """The users not yet marked for (flag, lane, mark); marks them."""
        seen = self._marks.get((flag, lane, mark))
        if seen is None:
            seen = self._marks[(flag, lane, mark)] = np.zeros(len(self._ids), bool)
        new = users[~seen[users]]
        seen[new] = True
        return new

    # -- error fingerprints ---------------------------------------------------------

    def _failures(
        self,
        start: int,
        end: int,
        flags: Sequence[FlagState],
        wanted: Sequence[str],
    ) -> dict[tuple[str, int], list[_Failure]]:
        rows = {f.key: r for r, f in enumerate(flags)}
        out: dict[tuple[str, int], list[_Failure]] = {}
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
                    out.setdefault((key, int(lanes[j])), []).append(
                        self._failure(found, int(failed[j]), float(stamps[j]))
                    )
        return out

    def _failure(self, found: Outcomes, request: int, stamp: float) -> _Failure:
        channel = self._channels[int(found.request_channel[request])]
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
        name = self._fingerprint_names[int(found.request_fingerprint[request])]
        return _Failure(name, h, sample)

    def _fingerprints(self, failures: list[_Failure]) -> dict[str, FingerprintStats]:
        grouped: dict[str, list[_Failure]] = {}
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


@dataclass(frozen=True, slots=True)
class _Failure:
    fingerprint: str
    actor: int
    sample: SampleEvent


def _request_stamps(found: Outcomes) -> FloatArray:
    """Each request's epoch second, as `sim.render` dates its event."""
    # Do not change without `sim.render._render`: the same arithmetic, so that
    # the floats are equal to the bit.
    n_req = found.request_visit.shape[0]
    visit = np.concatenate([found.request_visit, found.event_visit])
    seq = np.concatenate([found.request_seq, found.event_seq])
    order = np.lexsort((seq, visit))
    visit = visit[order]
    per_visit = np.bincount(visit, minlength=found.visit_user.shape[0])
    first = np.concatenate([[0], np.cumsum(per_visit)])
    rank = np.arange(visit.shape[0]) - first[visit]
    step = _VISIT_SECONDS / (per_visit[visit] + 1.0)
    start_ts = found.visit_minute * 60.0 + found.visit_offset
    stamps = start_ts[visit] + (rank + 1) * step
    out = np.empty(n_req)
    is_request = order < n_req
    out[order[is_request]] = stamps[is_request]
    return out


def _spec_channels(
    channels: Sequence[Channel], spec: MetricSpec
) -> tuple[IntArray, IntArray]:
    """The channels feeding a metric's first and second event, after `where`."""
    check = Segment.from_rules(spec.name, spec.where).compile() if spec.where else None

    def feeding(event: str) -> IntArray:
        chosen = []
        for i, c in enumerate(channels):
            names = {c.name}
            if c.is_request and c.status is not None and c.status >= 500:
                names.add(f"{c.name}_failed")
            if event in names and (check is None or check(c.properties())):
                chosen.append(i)
        return np.array(chosen, dtype=np.int64)

    second = feeding(spec.events[1]) if len(spec.events) > 1 else np.zeros(0, np.int64)
    return feeding(spec.events[0]), second


def _breakdown_key(c: Channel) -> BreakdownKey:
    if c.is_request:
        status = c.status or 200
        return (c.name, c.route or "", f"{status // 100}xx", c.device.value)
    return (c.name, c.route or "", "", c.device.value)
