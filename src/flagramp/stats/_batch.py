"""The working state of one `BatchIngest.aggregate` call (private): sums a batch's
exposures and outcomes into per-minute state, then freezes it into windows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from flagramp.core.events import (
    MAX_LATENCY_MS,
    MAX_VALUE,
    OTHER_FINGERPRINTS,
    BusinessEvent,
    Exposure,
    RequestOutcome,
)
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats._ingest_state import Columns, MinuteState, value_column
from flagramp.stats.buckets import BucketSums
from flagramp.stats.ingest_values import (
    FIRST_TIME_KINDS,
    VALUE_KINDS,
    BatchResult,
    IngestCounts,
)
from flagramp.stats.scope_state import EXPOSED, ActorState, MarkLayout
from flagramp.stats.sketches import DistinctActors, QuantileSketch
from flagramp.stats.windows import (
    BreakdownCell,
    FingerprintStats,
    Lane,
    MetricAggregate,
    Window,
    WindowKey,
    cap_breakdown,
    quantise,
)

if TYPE_CHECKING:
    from flagramp.stats.batch_ingest import BatchIngest

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class BatchWork:
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
        info, profiles = self.info, pipe.profiles
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
            {n: value_column(n, values, kept, business) for n in pipe.value_names},
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
            elif spec.kind in VALUE_KINDS:
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
        width = self.pipe.profile_count
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
