"""The fast mode: a span of minutes summed at once, an hour of draws at a time.

`span_aggregate(seed, world, start, end, flags)` gives, per flag, the sums a real
ingest would hold for those minutes (`lane_sums.FlagSums`), plus environment
events per minute, without building a single event object. A month of traffic
costs seconds (`bench/sim.py`). Spans are exact: the sums of [a, b) and [b, c)
merge to those of [a, c), because traffic is drawn per hour of epoch time, not
per call. Flag states hold for the whole span: split it where a percentage moves.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario
from flagramp.sim.assignment import LANES, FlagState
from flagramp.sim.channels import Channel, channel_table
from flagramp.sim.draws import MINUTES_PER_HOUR
from flagramp.sim.lane_sums import (
    KEY_OFFSET,
    KEY_SPAN,
    NEVER,
    FlagSums,
    ddsketch_keys,
    zero_threshold,
)
from flagramp.sim.outcomes import Outcomes, realise
from flagramp.sim.population import population_ids, population_users
from flagramp.sim.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: DDSketch's relative accuracy in `stats` (a p95 of 800 ms reads as 792–808 ms).
DEFAULT_RELATIVE_ACCURACY = 0.01
# Sets of user codes smaller than this are kept as bitmaps (fast, no sorting).
_BITMAP_LIMIT = 1 << 27


@dataclass(frozen=True, slots=True, eq=False)
class SpanAggregate:
    """Minutes [start, end) of a world under fixed flag states.

    `flags` maps each reported flag to its sums; `environment` is (E, minutes):
    environment-level events per kind (`World.model.environment`) and minute;
    `visits` counts visits per minute. `actors[i]` is user i's actor id and
    `user_bucket[i]` its bucket; `channels` and `fingerprints` name the indexes.
    """

    start: int
    end: int
    flags: Mapping[str, FlagSums]
    environment: FloatArray
    visits: FloatArray
    channels: tuple[Channel, ...]
    fingerprints: tuple[str, ...]
    actors: tuple[str, ...]
    user_bucket: IntArray

    def merge(self, other: SpanAggregate) -> SpanAggregate:
        """This span followed by the next one (same world and flags)."""
        if other.start != self.end or set(other.flags) != set(self.flags):
            raise InvalidScenario("SpanAggregate.merge", "needs the next span")
        return SpanAggregate(
            self.start,
            other.end,
            MappingProxyType(
                {k: v.merge(other.flags[k]) for k, v in self.flags.items()}
            ),
            np.concatenate([self.environment, other.environment], axis=1),
            np.concatenate([self.visits, other.visits]),
            self.channels,
            self.fingerprints,
            self.actors,
            self.user_bucket,
        )


class _CodeSet:
    """A growing set of non-negative codes below `size`.

    Rationale: a short span holds few codes, so sorting them is cheapest; a long
    one holds many, so when `expected` (or what arrives) is a fair share of `size`
    they go into a bitmap, which costs no sorting but memory and a scan in
    proportion to `size`.
    """

    def __init__(self, size: int, expected: float) -> None:
        self._size = size
        self._bits: npt.NDArray[np.bool_] | None = None
        self._parts: list[IntArray] = []
        self._held = 0
        if size <= _BITMAP_LIMIT and expected * 64 > size:
            self._bits = np.zeros(size, dtype=bool)

    def add(self, codes: IntArray) -> None:
        if self._bits is not None:
            self._bits[codes] = True
            return
        part = np.unique(codes)
        self._parts.append(part)
        self._held += part.shape[0]
        if self._held * 16 > self._size and self._size <= _BITMAP_LIMIT:
            self._bits = np.zeros(self._size, dtype=bool)
            for held in self._parts:
                self._bits[held] = True
            self._parts = []

    def codes(self) -> IntArray:
        if self._bits is not None:
            return np.flatnonzero(self._bits).astype(np.int64)
        if not self._parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(self._parts)).astype(np.int64)


class _Sums:
    """Mutable sums of one flag while a span is added up."""

    def __init__(
        self,
        n: int,
        c: int,
        b: int,
        f: int,
        expected: float,
        thresholds: tuple[float, ...] = (),
    ) -> None:
        self.n, self.c, self.b, self.f = n, c, b, f
        self.thresholds = thresholds
        self.above = np.zeros((len(thresholds), LANES * c * b))
        self.exposures = np.zeros(LANES * b)
        self.exposed = _CodeSet(LANES * n, expected)
        self.counts = np.zeros(LANES * c * b)
        self.value_sums = np.zeros(LANES * c * b)
        self.value_counts = np.zeros(LANES * c * b)
        self.value_parts: list[tuple[IntArray, IntArray]] = []
        self.value_zero = np.zeros(LANES * c)
        self.value_min = np.full(LANES * c, np.inf)
        self.value_max = np.full(LANES * c, -np.inf)
        self.channel_users = _CodeSet(LANES * c * n, expected)
        self.fp_counts = np.zeros(LANES * f)
        self.fp_users = _CodeSet(LANES * f * n, expected / 20)
        self.fp_first = np.full(LANES * f, np.iinfo(np.int64).max)

    def add(self, out: Outcomes, row: int, bucket: IntArray, accuracy: float) -> None:
        n, c, b, f = self.n, self.c, self.b, self.f
        lane_v = out.visit_lanes[row]
        seen = lane_v >= 0
        lanes, users = lane_v[seen], out.visit_user[seen]
        self.exposures += np.bincount(lanes * b + bucket[users], minlength=LANES * b)
        self.exposed.add(lanes * n + users)
        visit = np.concatenate([out.request_visit, out.event_visit])
        lane = lane_v[visit]
        keep = np.flatnonzero(lane >= 0)
        lane, user = lane[keep], out.visit_user[visit[keep]]
        channel = np.concatenate([out.request_channel, out.event_channel])[keep]
        value = np.concatenate([out.request_latency, out.event_value])[keep]
        lc = lane * c + channel
        cell = lc * b + bucket[user]
        size = LANES * c * b
        self.counts += np.bincount(cell, minlength=size)
        has = ~np.isnan(value)
        v, lcv = value[has], lc[has]
        self.value_sums += np.bincount(cell[has], weights=v, minlength=size)
        self.value_counts += np.bincount(cell[has], minlength=size)
        for t, threshold in enumerate(self.thresholds):
            # Strictly above, on the raw value: what ingest's share_above counts.
            over = cell[has][v > threshold]
            self.above[t] += np.bincount(over, minlength=size)
        positive = v > zero_threshold(accuracy)
        codes = lcv[positive] * KEY_SPAN + ddsketch_keys(v[positive], accuracy)
        unique, counts = np.unique(codes + KEY_OFFSET, return_counts=True)
        self.value_parts.append((unique, counts))
        self.value_zero += np.bincount(lcv[~positive], minlength=LANES * c)
        np.minimum.at(self.value_min, lcv, v)
        np.maximum.at(self.value_max, lcv, v)
        self.channel_users.add(lc * n + user)
        failed = np.flatnonzero(
            (out.request_fingerprint >= 0) & (lane_v[out.request_visit] >= 0)
        )
        fl = lane_v[out.request_visit[failed]] * f + out.request_fingerprint[failed]
        fu = out.visit_user[out.request_visit[failed]]
        self.fp_counts += np.bincount(fl, minlength=LANES * f)
        self.fp_users.add(fl * n + fu)
        np.minimum.at(self.fp_first, fl, out.visit_minute[out.request_visit[failed]])

    def freeze(self, flag: str, start: int, end: int) -> FlagSums:
        n, c, b, f = self.n, self.c, self.b, self.f
        codes: IntArray = np.zeros(0, dtype=np.int64)
        code_counts: FloatArray = np.zeros(0, dtype=np.float64)
        if self.value_parts:
            codes, where = np.unique(
                np.concatenate([p[0] for p in self.value_parts]), return_inverse=True
            )
            weights = np.concatenate([p[1] for p in self.value_parts]).astype(float)
            code_counts = np.bincount(
                where, weights=weights, minlength=codes.size
            ).astype(np.float64)
        first = np.where(self.fp_first == np.iinfo(np.int64).max, NEVER, self.fp_first)
        return FlagSums(
            flag=flag,
            start=start,
            end=end,
            users=n,
            exposures=self.exposures.reshape(LANES, b),
            exposed=self.exposed.codes(),
            counts=self.counts.reshape(LANES, c, b),
            value_sums=self.value_sums.reshape(LANES, c, b),
            value_counts=self.value_counts.reshape(LANES, c, b),
            value_codes=codes.astype(np.int64),
            value_code_counts=code_counts.astype(np.float64),
            value_zero=self.value_zero.reshape(LANES, c),
            value_min=self.value_min.reshape(LANES, c),
            value_max=self.value_max.reshape(LANES, c),
            channel_users=self.channel_users.codes(),
            fingerprint_counts=self.fp_counts.reshape(LANES, f),
            fingerprint_users=self.fp_users.codes(),
            fingerprint_first=first.reshape(LANES, f).astype(np.int64),
            thresholds=self.thresholds,
            above=self.above.reshape(len(self.thresholds), LANES, c, b),
        )


def hour_slices(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut at hour boundaries."""
    if end <= start:
        raise InvalidScenario("span", f"needs start < end, not {start}..{end}")
    cuts = range(
        (start // MINUTES_PER_HOUR + 1) * MINUTES_PER_HOUR, end, MINUTES_PER_HOUR
    )
    edges = [start, *cuts, end]
    return list(itertools.pairwise(edges))


def span_aggregate(
    seed: int,
    world: World,
    start: int,
    end: int,
    flags: Sequence[FlagState],
    *,
    report: Sequence[str] | None = None,
    relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
    thresholds: Sequence[float] = (),
) -> SpanAggregate:
    """The sums of epoch minutes [start, end) under these flag states.

    `flags` are every flag the traffic depends on (gated kinds, regressions);
    `report` the ones to sum lanes for (default: all of them); `thresholds`
    the values share_above metrics compare with (`FlagSums.above_counts`).
    """
    wanted = tuple(f.key for f in flags) if report is None else tuple(report)
    rows = {f.key: i for i, f in enumerate(flags)}
    missing = [k for k in wanted if k not in rows]
    if missing:
        raise InvalidScenario("span_aggregate", f"no state given for flags {missing}")
    users = population_users(seed, world.population, world.buckets)
    table = channel_table(world.model, world.population)
    fingerprints = world.fingerprint_names()
    # Codes a span may hold: about one per visit and event (fewer distinct).
    model = world.model
    per_visit = model.mean_session + len(model.business) + len(model.pages)
    expected = world.visits_per_day / 1440.0 * (end - start) * per_visit
    cuts = tuple(dict.fromkeys(float(t) for t in thresholds))
    sums = {
        k: _Sums(
            users.size, len(table), world.buckets, len(fingerprints), expected, cuts
        )
        for k in wanted
    }
    kinds = len(world.model.environment)
    minutes = end - start
    environment = np.zeros(kinds * minutes)
    visits = np.zeros(minutes)
    for a, b in hour_slices(start, end):
        out = realise(seed, world, a, b, flags)
        for key, acc in sums.items():
            acc.add(out, rows[key], users.bucket, relative_accuracy)
        cell = (out.environment_minute - start) * kinds + out.environment_kind
        environment += np.bincount(cell, minlength=kinds * minutes)
        visits += np.bincount(out.visit_minute - start, minlength=minutes)
    return SpanAggregate(
        start=start,
        end=end,
        flags=MappingProxyType({k: s.freeze(k, start, end) for k, s in sums.items()}),
        environment=environment.reshape(minutes, kinds).T.copy(),
        visits=visits,
        channels=table.channels,
        fingerprints=fingerprints,
        actors=population_ids(seed, world.population),
        user_bucket=users.bucket,
    )
