"""Events into one-minute windows per run, flag and lane, a batch at a time.

Per plan metric, what the bucket sums hold (per hashed user bucket):

============== ============================== ==========================================
kind           numerator                      denominator
============== ============================== ==========================================
ratio          events named `numerator`       events named `denominator`
share_of_users actors with the event, first   actors exposed for the first time in the
               time in the run                run (users are the unit)
count          events                         first-time exposed actors
mean           sum of the value               events with a value
quantile       sum of the value (+ DDSketch)  events with a value
share_above    events with a value above the  events with a value
               metric's `threshold`
unique_actors  actors with the event, first   first-time exposed actors (+ distinct
               time in the run                actors of the window, HyperLogLog)
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

`WindowIngest` is the only mutable object in `stats`: it remembers assignments and
first-time actors for the run (pass `assignments` back in to resume). No I/O, no
clock: event times decide the minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.core.events import (
    BusinessEvent,
    Event,
    EventBatch,
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
from flagramp.stats.sketches import (
    DEFAULT_EXACT_CAP,
    DEFAULT_RELATIVE_ACCURACY,
    DistinctActors,
    QuantileSketch,
    actor_hash,
)
from flagramp.stats.windows import (
    BreakdownCell,
    BreakdownKey,
    FingerprintStats,
    Lane,
    MetricAggregate,
    Window,
    WindowKey,
    quantise,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_ACTOR_KINDS = frozenset({MetricKind.SHARE_OF_USERS, MetricKind.UNIQUE_ACTORS})
_VALUE_KINDS = frozenset({MetricKind.MEAN, MetricKind.QUANTILE})


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
    """What one batch did: events used, outcomes with no exposure, duplicates."""

    exposures: int = 0
    outcomes: int = 0
    unattributed: int = 0
    other_flags: int = 0
    duplicate_batch: bool = False


class WindowIngest:
    """Accumulates events of one run and flag into minute windows.

    Not thread-safe: one ingest per run and flag, fed by one writer.
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
        assignments: Mapping[str, Lane] | None = None,
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
        self.buckets = buckets
        self.exact_cap = exact_cap
        self.relative_accuracy = relative_accuracy
        self.samples = samples
        self._filters = tuple(
            Segment.from_rules(s.name, s.where).compile() if s.where else None
            for s in self.specs
        )
        self._value_names = tuple(sorted({s.value for s in self.specs if s.value}))
        self._assign: dict[str, Lane] = dict(assignments or {})
        self._actors: dict[str, tuple[int, int]] = {}
        self._exposed: set[tuple[int, Lane]] = set()
        # Per metric: (actor hash, lane) pairs already counted, for first-time sums.
        self._seen: list[set[tuple[int, Lane]]] = [set() for _ in self.specs]
        self._profiles: dict[tuple[object, ...], Profile] = {}
        self._roles = np.zeros((0, len(self.specs), 2), dtype=bool)
        self._breakdown_of = np.zeros(0, dtype=np.int64)
        self._failed_of = np.zeros(0, dtype=np.float64)
        self._breakdown_ids: dict[BreakdownKey, int] = {}
        self._minutes: dict[tuple[int, Lane], MinuteState] = {}
        self._batches: set[str] = set()

    @property
    def assignments(self) -> Mapping[str, Lane]:
        """The lane each exposed actor's outcomes count under (to persist, resume)."""
        return self._assign

    def add_batch(self, batch: EventBatch) -> IngestCounts:
        """`add` the batch's events unless its key was already ingested here."""
        if batch.key in self._batches:
            return IngestCounts(duplicate_batch=True)
        self._batches.add(batch.key)
        return self.add(batch.events)

    def add(self, events: Sequence[Event]) -> IngestCounts:
        """Aggregate events into their minute windows."""
        exposures: list[Exposure] = []
        outcomes: list[RequestOutcome | BusinessEvent] = []
        for e in events:
            if isinstance(e, Exposure):
                exposures.append(e)
            else:
                outcomes.append(e)
        used, other = self._add_exposures(exposures)
        unattributed = self._add_outcomes(outcomes)
        return IngestCounts(used, len(outcomes) - unattributed, unattributed, other)

    def windows(self) -> tuple[Window, ...]:
        """The open windows as values, in (minute, lane) order; nothing is cleared."""
        return tuple(self._freeze(k) for k in sorted(self._minutes))

    def flush(self, before: int | None = None) -> tuple[Window, ...]:
        """Windows starting before epoch minute `before` (all if None), then dropped."""
        keys = sorted(k for k in self._minutes if before is None or k[0] < before)
        out = tuple(self._freeze(k) for k in keys)
        for k in keys:
            del self._minutes[k]
        return out

    # -- internals -------------------------------------------------------------------

    def _actor(self, actor: str) -> tuple[int, int]:
        info = self._actors.get(actor)
        if info is None:
            info = (bucket_of(actor, self.buckets), actor_hash(actor))
            self._actors[actor] = info
        return info

    def _minute(self, minute: int, lane: Lane) -> MinuteState:
        state = self._minutes.get((minute, lane))
        if state is None:
            state = self._minutes[(minute, lane)] = MinuteState(
                len(self.specs), self.buckets
            )
        return state

    def _add_exposures(self, exposures: list[Exposure]) -> tuple[int, int]:
        used = 0
        for e in exposures:
            if e.flag != self.flag or e.environment != self.environment:
                continue
            used += 1
            lane = Lane.of(e.variant, e.allow_listed)
            self._assign[e.actor] = lane
            bucket, h = self._actor(e.actor)
            state = self._minute(int(e.at.timestamp() // 60), lane)
            state.exposure_events[bucket] += 1
            state.actors.add(h)
            if (h, lane) not in self._exposed:
                self._exposed.add((h, lane))
                state.new_actors[bucket] += 1
        return used, len(exposures) - used

    def _profile(self, e: RequestOutcome | BusinessEvent) -> Profile:
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
        breakdown: BreakdownKey,
        failed: bool,
    ) -> Profile:
        roles = []
        for spec, check in zip(self.specs, self._filters, strict=True):
            ok = check is None or check(props)
            first = ok and spec.events[0] in names
            second = ok and len(spec.events) > 1 and spec.events[1] in names
            roles.append((first, second))
        bk = self._breakdown_ids.setdefault(breakdown, len(self._breakdown_ids))
        profile = Profile(len(self._profiles), tuple(roles), bk, failed)
        self._profiles[key] = profile
        return profile

    def _add_outcomes(self, outcomes: list[RequestOutcome | BusinessEvent]) -> int:
        if len(self._profiles) >= MAX_PROFILES:
            # Rationale: profiles are cheap to rebuild; a flood of distinct routes
            # or attribute values must not grow memory without bound.
            self._profiles.clear()
            self._roles = np.zeros((0, len(self.specs), 2), dtype=bool)
        # The hot loop: plain list appends and dict lookups only; everything per
        # metric happens afterwards on numpy columns.
        assign, actors, profiles = self._assign, self._actors, self._profiles
        slots: dict[tuple[int, Lane], int] = {}
        slot_col: list[int] = []
        bucket_col: list[int] = []
        hash_col: list[int] = []
        profile_col: list[int] = []
        primary: list[float] = []
        kept: list[RequestOutcome | BusinessEvent] = []
        business: list[int] = []
        errors: list[tuple[int, int, RequestOutcome]] = []
        unattributed = 0
        for e in outcomes:
            actor = e.actor
            lane = assign.get(actor)
            if lane is None:
                unattributed += 1
                continue
            cell = (int(e.at.timestamp() // 60), lane)
            slot = slots.get(cell)
            if slot is None:
                slot = slots[cell] = len(slots)
            info = actors.get(actor)
            if info is None:
                info = self._actor(actor)
            if isinstance(e, RequestOutcome):
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
                    profile = self._profile(e)
                primary.append(e.latency_ms)
                if error is not None:
                    errors.append((slot, info[1], e))
            else:
                profile = self._profile(e)
                business.append(len(slot_col))
                primary.append(0.0 if e.value is None else e.value)
            slot_col.append(slot)
            bucket_col.append(info[0])
            hash_col.append(info[1])
            profile_col.append(profile.index)
            kept.append(e)
        if not slot_col:
            return unattributed
        states = [self._minute(m, lane) for (m, lane) in slots]
        lanes = [lane for (_, lane) in slots]
        self._role_table()
        pid = np.array(profile_col, dtype=np.int64)
        values = np.array(primary)
        columns = Columns(
            np.array(slot_col, dtype=np.int64),
            np.array(bucket_col, dtype=np.int64),
            hash_col,
            pid,
            self._breakdown_of[pid],
            self._failed_of[pid],
            quantise(np.where(np.isfinite(values), values, 0.0)),
            {n: value_column(n, values, kept, business) for n in self._value_names},
        )
        self._sum_metrics(states, lanes, columns)
        self._sum_breakdown(states, columns)
        for slot, h, e in errors:
            states[slot].add_error(e, h, self.samples)
        return unattributed

    def _role_table(self) -> npt.NDArray[np.bool_]:
        """Per profile: which metrics it feeds; also its breakdown cell and failure."""
        if self._roles.shape[0] != len(self._profiles):
            size = len(self._profiles)
            table = np.zeros((size, len(self.specs), 2), dtype=bool)
            self._breakdown_of = np.zeros(size, dtype=np.int64)
            self._failed_of = np.zeros(size, dtype=np.float64)
            for p in self._profiles.values():
                table[p.index] = p.roles
                self._breakdown_of[p.index] = p.breakdown
                self._failed_of[p.index] = p.failed
            self._roles = table
        return self._roles

    def _sum_metrics(
        self, states: list[MinuteState], lanes: list[Lane], cols: Columns
    ) -> None:
        b = self.buckets
        size = len(states) * b
        cell = cols.slot * b + cols.bucket
        roles = self._role_table()[cols.profile]
        for i, spec in enumerate(self.specs):
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
                num = self._first_time(states, lanes, i, cols, first)
            for s, state in enumerate(states):
                state.num[i] += num[s * b : (s + 1) * b]
                if den is not None:
                    state.den[i] += den[s * b : (s + 1) * b]

    def _sketch(
        self, states: list[MinuteState], i: int, slot: IntArray, v: FloatArray
    ) -> None:
        for s in np.unique(slot).tolist():
            add = QuantileSketch.of(v[slot == s], self.relative_accuracy)
            old = states[s].sketches[i]
            states[s].sketches[i] = add if old is None else old.merge(add)

    def _first_time(
        self,
        states: list[MinuteState],
        lanes: list[Lane],
        i: int,
        cols: Columns,
        mask: npt.NDArray[np.bool_],
    ) -> FloatArray:
        b = self.buckets
        num = np.zeros(len(states) * b)
        seen = self._seen[i]
        where = np.flatnonzero(mask).tolist()
        slots, buckets, hashes = cols.slot.tolist(), cols.bucket.tolist(), cols.hashes
        for j in where:
            s, h = slots[j], hashes[j]
            states[s].metric_actors[i].add(h)
            if (h, lanes[s]) not in seen:
                seen.add((h, lanes[s]))
                num[s * b + buckets[j]] += 1
        return num

    def _sum_breakdown(self, states: list[MinuteState], cols: Columns) -> None:
        width = len(self._breakdown_ids)
        cell = cols.slot * width + cols.breakdown
        size = len(states) * width
        count = np.bincount(cell, minlength=size)
        failed = np.bincount(cell, weights=cols.failed, minlength=size)
        total = np.bincount(cell, weights=cols.primary, minlength=size)
        for c in np.flatnonzero(count).tolist():
            s, k = divmod(c, width)
            row = states[s].breakdown.setdefault(k, [0.0, 0.0, 0.0])
            row[0] += float(count[c])
            row[1] += float(failed[c])
            row[2] += float(total[c])

    def _freeze(self, key: tuple[int, Lane]) -> Window:
        minute, lane = key
        state = self._minutes[key]
        cap = self.exact_cap
        metrics = {}
        for i, spec in enumerate(self.specs):
            first_time = spec.kind in _ACTOR_KINDS or spec.kind is MetricKind.COUNT
            den = state.new_actors if first_time else state.den[i]
            sketch = state.sketches[i]
            if spec.kind is MetricKind.QUANTILE and sketch is None:
                sketch = QuantileSketch.empty(self.relative_accuracy)
            metrics[spec.name] = MetricAggregate(
                spec.kind,
                BucketSums(state.num[i].copy(), den.copy()),
                DistinctActors.of(state.metric_actors[i], cap)
                if spec.kind in _ACTOR_KINDS
                else None,
                sketch,
            )
        names = {v: k for k, v in self._breakdown_ids.items()}
        return Window(
            WindowKey(self.run, self.flag, lane, minute, minute + 1),
            BucketSums(state.new_actors.copy(), state.exposure_events.copy()),
            DistinctActors.of(state.actors, cap),
            metrics,
            {names[k]: BreakdownCell(*row) for k, row in state.breakdown.items()},
            {
                name: FingerprintStats(
                    fp.count,
                    DistinctActors.of(fp.actors, cap),
                    fp.first_seen,
                    tuple(fp.samples),
                    self.samples,
                )
                for name, fp in state.fingerprints.items()
            },
        )
