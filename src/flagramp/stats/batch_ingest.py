"""One batch of events into its minute windows and the actor states it changes.

Per plan metric, what the bucket sums hold (per hashed user bucket):

============== ============================== ==========================================
kind           numerator                      denominator
============== ============================== ==========================================
ratio          events named `numerator`       events named `denominator`
share_of_users actors with the event, first   actors exposed for the first time in the
               time in the scope              scope (users are the unit)
count          events                         first-time exposed actors
mean           sum of the value               events with a value
quantile       sum of the value (+ DDSketch)  events with a value
share_above    events with a value above the  events with a value
               metric's `threshold`
unique_actors  actors with the event, first   first-time exposed actors (+ distinct
               time in the scope              actors of the window, HyperLogLog)
============== ============================== ==========================================

Rules:

- Exposures decide the lane an actor's outcomes count under (the latest exposure
  wins); within a batch, exposures are applied before outcomes. Outcomes of actors
  never exposed to the flag are counted as `unattributed` and dropped.
- A plan metric's `where` rules (route, device, status, attributes) are applied
  before aggregation. They are evaluated once per distinct event *profile* (name,
  route, device, status, attributes), not per event: that, and doing the sums with
  numpy over columns, is what keeps ingest above 100,000 events/s.
- A request counts as `name` and, if failed, also as `<name>_failed`.
- A metric's value `latency_ms` (or `status`) reads the request's field; for
  business events the attribute of that name if numeric, else the event's `value`.
- With the receiver's clock (`received_at`), events outside [received_at − max_age,
  received_at + max_skew] are refused (`out_of_window`): memory stays bounded
  whatever times a sender makes up. Values that parsing would refuse (events built
  in code skip it) are refused as `invalid`, never raised.

`BatchIngest.aggregate` is pure: it reads the states of the batch's actors with
**one** call of the `lookup` it is given (see `stats.scope_state`), and returns the
batch's windows, the states it changed and its counts. It changes nothing else
(its caches of event profiles and actor hashes never change a result), so a caller
that fails after it has lost nothing. Applying a result, i.e. merging its windows,
writing its states and recording the batch key, all together or not at all, is the
caller's part: `stats.ingest.WindowIngest` in memory, `store.WindowStore.ingest` in
one transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.core.event_parsing import MAX_CLOCK_SKEW, MAX_EVENT_AGE
from flagramp.core.events import (
    MAX_LATENCY_MS,
    MAX_VALUE,
    OTHER_FINGERPRINTS,
    BusinessEvent,
    Event,
    Exposure,
    RequestOutcome,
)
from flagramp.core.flags.segments import Segment
from flagramp.core.metric_kinds import MetricKind
from flagramp.core.types import PropertyValue
from flagramp.stats._ingest_state import (
    MAX_PROFILES,
    Columns,
    MinuteState,
    Profile,
    value_column,
)
from flagramp.stats.buckets import DEFAULT_BUCKETS, BucketSums, bucket_of
from flagramp.stats.scope_state import EXPOSED, ActorLookup, ActorState, MarkLayout
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
    FingerprintStats,
    Lane,
    MetricAggregate,
    Window,
    WindowKey,
    cap_breakdown,
    quantise,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

FIRST_TIME_KINDS = frozenset({MetricKind.SHARE_OF_USERS, MetricKind.UNIQUE_ACTORS})
_VALUE_KINDS = frozenset({MetricKind.MEAN, MetricKind.QUANTILE})
#: Actor ids whose bucket and hash are cached across batches, at most.
MAX_CACHED_ACTORS = 50_000


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What ingest computes for one plan metric.

    `events` is (numerator, denominator) for a ratio, (event,) otherwise;
    `threshold` is a share_above metric's bound on the value.
    """

    name: str
    kind: MetricKind
    events: tuple[str, ...]
    value: str | None = None
    where: tuple[str, ...] = ()
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What one batch did: events used, outcomes with no exposure, refusals.

    `out_of_window`: events timed outside the window around the receiver's clock;
    `invalid`: events with a value parsing would refuse (non-finite, out of range).
    """

    exposures: int = 0
    outcomes: int = 0
    unattributed: int = 0
    other_flags: int = 0
    duplicate_batch: bool = False
    out_of_window: int = 0
    invalid: int = 0


@dataclass(frozen=True, slots=True)
class BatchResult:
    """A batch's contribution: its windows, the actor states it changed, counts.

    `marks` is the layout the states use (the given one, grown by this ingest's
    first-time metrics). `forget_after` (epoch seconds) is when a redelivery of the
    batch can no longer count anything, every event being too old by then: its key
    may be dropped after that. Infinite without a receiver's clock.
    """

    windows: tuple[Window, ...]
    actors: Mapping[int, ActorState]
    marks: MarkLayout
    counts: IngestCounts
    forget_after: float


class BatchIngest:
    """Turns batches of one scope (run string and flag) into windows; pure.

    Not thread-safe (its caches are plain dicts): one per thread.
    """

    def __init__(
        self,
        run: str,
        flag: str,
        metrics: Iterable[MetricSpec],
        *,
        environment: str = "production",
        buckets: int = DEFAULT_BUCKETS,
        exact_cap: int = DEFAULT_EXACT_CAP,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        samples: int = 3,
        fingerprint_cap: int = DEFAULT_FINGERPRINT_CAP,
        breakdown_cap: int = DEFAULT_BREAKDOWN_CAP,
        max_age: dt.timedelta = MAX_EVENT_AGE,
        max_skew: dt.timedelta = MAX_CLOCK_SKEW,
    ) -> None:
        self.run, self.flag, self.environment = run, flag, environment
        self.specs = tuple(metrics)
        if len({s.name for s in self.specs}) != len(self.specs):
            raise StatsError("metric names must be unique")
        for spec in self.specs:
            if spec.kind in _VALUE_KINDS and spec.value is None:
                raise StatsError(f"metric {spec.name!r} ({spec.kind}) needs a value")
            if spec.kind is MetricKind.SHARE_ABOVE and (
                spec.value is None or spec.threshold is None
            ):
                raise StatsError(
                    f"metric {spec.name!r} (share_above) needs a value and a threshold"
                )
        if min(fingerprint_cap, breakdown_cap, samples) < 1:
            raise StatsError("caps and samples are at least 1")
        self.buckets = buckets
        self.exact_cap = exact_cap
        self.relative_accuracy = relative_accuracy
        self.samples = samples
        self.fingerprint_cap = fingerprint_cap
        self.breakdown_cap = breakdown_cap
        self.max_age, self.max_skew = max_age, max_skew
        #: The first-time metrics, whose per-actor marks the scope keeps.
        self.first_time_metrics = tuple(
            s.name for s in self.specs if s.kind in FIRST_TIME_KINDS
        )
        MarkLayout().including(self.first_time_metrics)  # refuses too many
        self._filters = tuple(
            Segment.from_rules(s.name, s.where).compile() if s.where else None
            for s in self.specs
        )
        self._value_names = tuple(sorted({s.value for s in self.specs if s.value}))
        self._actor_info: dict[str, tuple[int, int]] = {}
        self._reset_profiles()

    def aggregate(
        self,
        events: Sequence[Event],
        lookup: ActorLookup,
        *,
        marks: MarkLayout | None = None,
        received_at: dt.datetime | None = None,
    ) -> BatchResult:
        """The batch's windows and changed actor states; changes nothing else.

        `lookup` is called once, with the hashes of every actor in the batch;
        `marks` is the scope's layout so far (None: a new scope).
        """
        layout = (marks or MarkLayout()).including(self.first_time_metrics)
        if len(self._profiles) >= MAX_PROFILES:
            # Rationale: profiles are cheap to rebuild; a flood of distinct routes
            # or attribute values must not grow memory without bound.
            self._reset_profiles()
        if len(self._actor_info) >= MAX_CACHED_ACTORS:
            self._actor_info.clear()
        info = self._actors_of(events)
        known = lookup([h for _, h in info.values()])
        batch = _Batch(self, info, known, layout, received_at)
        exposures: list[Exposure] = []
        outcomes: list[RequestOutcome | BusinessEvent] = []
        for e in events:
            if isinstance(e, Exposure):
                exposures.append(e)
            else:
                outcomes.append(e)
        batch.add_exposures(exposures)
        batch.add_outcomes(outcomes)
        return batch.result(self._forget_after(events, received_at))

    # -- caches (never change a result) ----------------------------------------------

    def _reset_profiles(self) -> None:
        self._profiles: dict[tuple[object, ...], Profile] = {}
        self._profile_list: list[Profile] = []
        self._roles = np.zeros((0, len(self.specs), 2), dtype=bool)
        self._failed_of = np.zeros(0, dtype=np.float64)

    def _actors_of(self, events: Sequence[Event]) -> dict[str, tuple[int, int]]:
        """(bucket, hash) of every actor in the batch."""
        cache = self._actor_info
        out: dict[str, tuple[int, int]] = {}
        for actor in {e.actor for e in events}:
            found = cache.get(actor)
            if found is None:
                found = cache[actor] = (
                    bucket_of(actor, self.buckets),
                    actor_hash(actor),
                )
            out[actor] = found
        return out

    def _forget_after(
        self, events: Sequence[Event], received_at: dt.datetime | None
    ) -> float:
        if received_at is None:
            return math.inf
        newest = max((e.at for e in events), default=received_at)
        return newest.timestamp() + self.max_age.total_seconds()

    def profile(self, e: RequestOutcome | BusinessEvent) -> Profile:
        """The (cached) profile of an outcome: which metrics it feeds."""
        if isinstance(e, RequestOutcome):
            failed = e.is_failed
            key: tuple[object, ...] = (e.name, e.route, e.device, e.status, failed)
            profile = self._profiles.get(key)
            if profile is None:
                names = (e.name, e.failed_name) if failed else (e.name,)
                props: dict[str, PropertyValue] = {
                    "name": e.name,
                    "route": e.route,
                    "device": e.device.value,
                    "status": e.status,
                    "status_class": e.status_class,
                }
                bk = (e.name, e.route, e.status_class, e.device.value)
                profile = self._new_profile(key, names, props, bk, failed)
            return profile
        key = (e.name, e.route, e.device, e.attributes)
        profile = self._profiles.get(key)
        if profile is None:
            props = {"name": e.name, "route": e.route, "device": e.device.value}
            props.update(e.attributes)
            bk = (e.name, e.route or "", "", e.device.value)
            profile = self._new_profile(key, (e.name,), props, bk, False)
        return profile

    def _new_profile(
        self,
        key: tuple[object, ...],
        names: tuple[str, ...],
        props: dict[str, PropertyValue],
        breakdown: tuple[str, str, str, str],
        failed: bool,
    ) -> Profile:
        roles = []
        for spec, check in zip(self.specs, self._filters, strict=True):
            ok = check is None or check(props)
            first = ok and spec.events[0] in names
            second = ok and len(spec.events) > 1 and spec.events[1] in names
            roles.append((first, second))
        profile = Profile(len(self._profile_list), tuple(roles), breakdown, failed)
        self._profiles[key] = profile
        self._profile_list.append(profile)
        return profile

    def role_table(self) -> npt.NDArray[np.bool_]:
        """Per profile: which metrics it feeds (rows added for new profiles)."""
        have = self._roles.shape[0]
        new = self._profile_list[have:]
        if new:
            rows = np.array([p.roles for p in new], dtype=bool).reshape(
                len(new), len(self.specs), 2
            )
            self._roles = np.concatenate([self._roles, rows])
            failed = np.array([p.failed for p in new], dtype=np.float64)
            self._failed_of = np.concatenate([self._failed_of, failed])
        return self._roles

    def failed_of(self, profiles: IntArray) -> FloatArray:
        """1.0 for each profile index whose events failed (after `role_table`)."""
        return self._failed_of[profiles]

    def profile_at(self, index: int) -> Profile:
        """The profile with this index."""
        return self._profile_list[index]


class _Batch:
    """The working state of one `aggregate` call: gone when it returns."""

    def __init__(
        self,
        pipe: BatchIngest,
        info: dict[str, tuple[int, int]],
        known: Mapping[int, ActorState],
        layout: MarkLayout,
        received_at: dt.datetime | None,
    ) -> None:
        self.pipe, self.info, self.known, self.layout = pipe, info, known, layout
        if received_at is None:
            self.low, self.high = -math.inf, math.inf
        else:
            now = received_at.timestamp()
            self.low = now - pipe.max_age.total_seconds()
            self.high = now + pipe.max_skew.total_seconds()
        self.lanes: dict[int, Lane] = {}
        self.marks: dict[int, int] = {}
        for _, h in info.values():
            state = known.get(h)
            if state is not None:
                self.lanes[h], self.marks[h] = state.lane, state.marks
        self.minutes: dict[tuple[int, Lane], MinuteState] = {}
        self.used = self.other_flags = self.outcomes = 0
        self.unattributed = self.out_of_window = self.invalid = 0

    def minute(self, minute: int, lane: Lane) -> MinuteState:
        state = self.minutes.get((minute, lane))
        if state is None:
            p = self.pipe
            state = self.minutes[(minute, lane)] = MinuteState(
                len(p.specs), p.buckets, p.fingerprint_cap
            )
        return state

    def add_exposures(self, exposures: list[Exposure]) -> None:
        flag, environment = self.pipe.flag, self.pipe.environment
        low, high = self.low, self.high
        exposed = {lane: self.layout.bit(EXPOSED, lane) for lane in Lane}
        for e in exposures:
            if e.flag != flag or e.environment != environment:
                self.other_flags += 1
                continue
            t = e.at.timestamp()
            if not low <= t <= high:
                self.out_of_window += 1
                continue
            self.used += 1
            lane = Lane.of(e.variant, e.allow_listed)
            bucket, h = self.info[e.actor]
            self.lanes[h] = lane
            state = self.minute(int(t // 60), lane)
            state.exposure_events[bucket] += 1
            state.actors.add(h)
            marks, bit = self.marks.get(h, 0), exposed[lane]
            if not marks & bit:
                self.marks[h] = marks | bit
                state.new_actors[bucket] += 1

    def add_outcomes(self, outcomes: list[RequestOutcome | BusinessEvent]) -> None:
        pipe = self.pipe
        lanes = self.lanes
        lane_of = {a: lanes[h] for a, (_, h) in self.info.items() if h in lanes}
        info, profiles = self.info, pipe._profiles
        low, high = self.low, self.high
        # The hot loop: plain list appends and dict lookups only; everything per
        # metric happens afterwards on numpy columns.
        slots: dict[tuple[int, Lane], int] = {}
        slot_col: list[int] = []
        bucket_col: list[int] = []
        hash_col: list[int] = []
        profile_col: list[int] = []
        primary: list[float] = []
        kept: list[RequestOutcome | BusinessEvent] = []
        business: list[int] = []
        errors: list[tuple[int, int, RequestOutcome]] = []
        for e in outcomes:
            actor = e.actor
            lane = lane_of.get(actor)
            if lane is None:
                self.unattributed += 1
                continue
            t = e.at.timestamp()
            if not low <= t <= high:
                self.out_of_window += 1
                continue
            if isinstance(e, RequestOutcome):
                latency = e.latency_ms
                if not 0.0 <= latency <= MAX_LATENCY_MS:
                    self.invalid += 1
                    continue
                error = e.error
                status = e.status
                key = (
                    e.name,
                    e.route,
                    e.device,
                    status,
                    status >= 500 or error is not None,
                )
                profile = profiles.get(key)
                if profile is None:
                    profile = pipe.profile(e)
                value = latency
            else:
                v = e.value
                if v is not None and not -MAX_VALUE <= v <= MAX_VALUE:
                    self.invalid += 1
                    continue
                error = None
                profile = pipe.profile(e)
                business.append(len(slot_col))
                value = 0.0 if v is None else v
            cell = (int(t // 60), lane)
            slot = slots.get(cell)
            if slot is None:
                slot = slots[cell] = len(slots)
            bucket, h = info[actor]
            if error is not None:
                assert isinstance(e, RequestOutcome)
                errors.append((slot, h, e))
            primary.append(value)
            slot_col.append(slot)
            bucket_col.append(bucket)
            hash_col.append(h)
            profile_col.append(profile.index)
            kept.append(e)
        self.outcomes = len(kept)
        if not kept:
            return
        states = [self.minute(m, lane) for (m, lane) in slots]
        slot_lanes = [lane for (_, lane) in slots]
        pipe.role_table()
        pid = np.array(profile_col, dtype=np.int64)
        values = np.array(primary)
        columns = Columns(
            np.array(slot_col, dtype=np.int64),
            np.array(bucket_col, dtype=np.int64),
            hash_col,
            pid,
            pipe.failed_of(pid),
            quantise(values),
            {n: value_column(n, values, kept, business) for n in pipe._value_names},
        )
        self._sum_metrics(states, slot_lanes, columns)
        self._sum_breakdown(states, columns)
        for slot, h, e in errors:
            states[slot].add_error(e, h, pipe.samples)

    def _sum_metrics(
        self, states: list[MinuteState], lanes: list[Lane], cols: Columns
    ) -> None:
        pipe = self.pipe
        b = pipe.buckets
        size = len(states) * b
        cell = cols.slot * b + cols.bucket
        roles = pipe.role_table()[cols.profile]
        for i, spec in enumerate(pipe.specs):
            first, second = roles[:, i, 0], roles[:, i, 1]
            if not first.any() and not second.any():
                continue
            num: FloatArray | None = None
            den: FloatArray | None = None
            if spec.kind is MetricKind.RATIO:
                num = np.bincount(cell[first], minlength=size).astype(np.float64)
                den = np.bincount(cell[second], minlength=size).astype(np.float64)
            elif spec.kind is MetricKind.COUNT:
                num = np.bincount(cell[first], minlength=size).astype(np.float64)
            elif spec.kind in _VALUE_KINDS:
                assert spec.value is not None
                raw = cols.values[spec.value][first]
                ok = ~np.isnan(raw)
                v, c = quantise(raw[ok]), cell[first][ok]
                num = np.bincount(c, weights=v, minlength=size).astype(np.float64)
                den = np.bincount(c, minlength=size).astype(np.float64)
                if spec.kind is MetricKind.QUANTILE:
                    self._sketch(states, i, c // b, v)
            elif spec.kind is MetricKind.SHARE_ABOVE:
                assert spec.value is not None and spec.threshold is not None
                raw = cols.values[spec.value][first]
                ok = ~np.isnan(raw)
                c = cell[first][ok]
                above = c[raw[ok] > spec.threshold]
                num = np.bincount(above, minlength=size).astype(np.float64)
                den = np.bincount(c, minlength=size).astype(np.float64)
            else:
                num = self._first_time(states, lanes, spec.name, i, cols, first)
            for s, state in enumerate(states):
                state.num[i] += num[s * b : (s + 1) * b]
                if den is not None:
                    state.den[i] += den[s * b : (s + 1) * b]

    def _sketch(
        self, states: list[MinuteState], i: int, slot: IntArray, v: FloatArray
    ) -> None:
        accuracy = self.pipe.relative_accuracy
        for s in np.unique(slot).tolist():
            add = QuantileSketch.of(v[slot == s], accuracy)
            old = states[s].sketches[i]
            states[s].sketches[i] = add if old is None else old.merge(add)

    def _first_time(
        self,
        states: list[MinuteState],
        lanes: list[Lane],
        name: str,
        i: int,
        cols: Columns,
        mask: npt.NDArray[np.bool_],
    ) -> FloatArray:
        b = self.pipe.buckets
        num = np.zeros(len(states) * b)
        bits = [self.layout.bit(name, lane) for lane in lanes]
        marks = self.marks
        slots, buckets, hashes = cols.slot.tolist(), cols.bucket.tolist(), cols.hashes
        for j in np.flatnonzero(mask).tolist():
            s, h = slots[j], hashes[j]
            states[s].metric_actors[i].add(h)
            have, bit = marks.get(h, 0), bits[s]
            if not have & bit:
                marks[h] = have | bit
                num[s * b + buckets[j]] += 1
        return num

    def _sum_breakdown(self, states: list[MinuteState], cols: Columns) -> None:
        # Grouped by (slot, profile) present in this batch only: the number of
        # distinct profiles over the ingest's life never sizes an array here.
        width = len(self.pipe._profile_list)
        combos, where = np.unique(cols.slot * width + cols.profile, return_inverse=True)
        count = np.bincount(where)
        failed = np.bincount(where, weights=cols.failed)
        total = np.bincount(where, weights=cols.primary)
        for c, combo in enumerate(combos.tolist()):
            s, p = divmod(combo, width)
            key = self.pipe.profile_at(p).breakdown
            row = states[s].breakdown.setdefault(key, [0.0, 0.0, 0.0])
            row[0] += float(count[c])
            row[1] += float(failed[c])
            row[2] += float(total[c])

    def result(self, forget_after: float) -> BatchResult:
        changed: dict[int, ActorState] = {}
        for h, lane in self.lanes.items():
            marks = self.marks.get(h, 0)
            old = self.known.get(h)
            if old is None or old.lane is not lane or old.marks != marks:
                changed[h] = ActorState(lane, marks)
        counts = IngestCounts(
            self.used,
            self.outcomes,
            self.unattributed,
            self.other_flags,
            False,
            self.out_of_window,
            self.invalid,
        )
        windows = tuple(self._freeze(k) for k in sorted(self.minutes))
        return BatchResult(windows, changed, self.layout, counts, forget_after)

    def _freeze(self, key: tuple[int, Lane]) -> Window:
        minute, lane = key
        pipe = self.pipe
        state = self.minutes[key]
        cap = pipe.exact_cap
        metrics = {}
        for i, spec in enumerate(pipe.specs):
            first_time = spec.kind in FIRST_TIME_KINDS or spec.kind is MetricKind.COUNT
            den = state.new_actors if first_time else state.den[i]
            sketch = state.sketches[i]
            if spec.kind is MetricKind.QUANTILE and sketch is None:
                sketch = QuantileSketch.empty(pipe.relative_accuracy)
            metrics[spec.name] = MetricAggregate(
                spec.kind,
                BucketSums(state.num[i].copy(), den.copy()),
                DistinctActors.of(state.metric_actors[i], cap)
                if spec.kind in FIRST_TIME_KINDS
                else None,
                sketch,
            )
        records = dict(state.fingerprints)
        if state.other is not None:
            records[OTHER_FINGERPRINTS] = state.other
        return Window(
            WindowKey(pipe.run, pipe.flag, lane, minute, minute + 1),
            BucketSums(state.new_actors.copy(), state.exposure_events.copy()),
            DistinctActors.of(state.actors, cap),
            metrics,
            cap_breakdown(
                {k: BreakdownCell(*row) for k, row in state.breakdown.items()},
                pipe.breakdown_cap,
            ),
            {
                name: FingerprintStats(
                    fp.count,
                    DistinctActors.of(fp.actors, cap),
                    fp.first_seen,
                    tuple(fp.samples),
                    pipe.samples,
                )
                for name, fp in records.items()
            },
            pipe.fingerprint_cap,
            pipe.breakdown_cap,
        )
