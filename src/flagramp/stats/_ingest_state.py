"""Mutable per-minute state of one batch while `stats._batch` sums it (private).

Lives only for the batch: `freeze` turns each minute into a `Window` value.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.events import (
    MAX_VALUE,
    OTHER_FINGERPRINTS,
    BusinessEvent,
    RequestOutcome,
)
from flagramp.stats.sketches import QuantileSketch
from flagramp.stats.windows import SampleEvent, fingerprint_rank, quantise_one

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Distinct event profiles remembered before the cache is rebuilt from scratch.
MAX_PROFILES = 50_000


@dataclass(frozen=True, slots=True)
class Profile:
    """What every event of one (name, route, device, status, attributes) feeds."""

    index: int
    roles: tuple[tuple[bool, bool], ...]
    breakdown: tuple[str, str, str, str]
    failed: bool


class FingerprintState:
    __slots__ = ("actors", "count", "first_seen", "rank", "samples")

    def __init__(self, at: float, rank: tuple[int, str]) -> None:
        self.count = 0
        self.actors: set[int] = set()
        self.first_seen = at
        self.rank = rank
        self.samples: list[SampleEvent] = []

    def add_sample(self, sample: SampleEvent, cap: int) -> None:
        # Samples form a set (as in `FingerprintStats.merge`): identical retries
        # are kept once, so merges of parts equal the whole.
        if (len(self.samples) < cap or sample < self.samples[-1]) and (
            sample not in self.samples
        ):
            bisect.insort(self.samples, sample)
            del self.samples[cap:]

    def absorb(self, other: FingerprintState, cap: int) -> None:
        """Add `other`'s events to this record (eviction into OTHER_FINGERPRINTS)."""
        self.count += other.count
        self.actors |= other.actors
        self.first_seen = min(self.first_seen, other.first_seen)
        for sample in other.samples:
            self.add_sample(sample, cap)


class MinuteState:
    """Mutable sums of one minute and lane while a batch's events are added.

    Fingerprints are kept as a streaming bottom-k by `fingerprint_rank`: once
    `fingerprint_cap` names are held, a new name either goes to OTHER_FINGERPRINTS
    or evicts the highest-ranked one there, which ends with exactly the names
    `windows.cap_fingerprints` would keep of the whole minute.
    """

    def __init__(self, specs: int, buckets: int, fingerprint_cap: int) -> None:
        self.exposure_events = np.zeros(buckets)
        self.new_actors = np.zeros(buckets)
        self.actors: set[int] = set()
        self.num = np.zeros((specs, buckets))
        self.den = np.zeros((specs, buckets))
        self.metric_actors: list[set[int]] = [set() for _ in range(specs)]
        self.sketches: list[QuantileSketch | None] = [None] * specs
        self.breakdown: dict[tuple[str, str, str, str], list[float]] = {}
        self.fingerprints: dict[str, FingerprintState] = {}
        self.other: FingerprintState | None = None
        self.fingerprint_cap = fingerprint_cap
        # The kept names as a max-heap of their ranks: the highest is evicted first.
        self._kept: list[tuple[int, _Descending]] = []

    def add_error(self, e: RequestOutcome, h: int, samples: int) -> None:
        assert e.error is not None
        at = e.at.timestamp()
        fp = self.fingerprints.get(e.error)
        if fp is None:
            fp = self._place(e.error, at, samples)
        fp.count += 1
        fp.actors.add(h)
        fp.first_seen = min(fp.first_seen, at)
        # Redacted: a short hash tag tells samples of one user apart, no id.
        sample = SampleEvent(
            at,
            f"{h:016x}"[:8],
            e.route,
            e.status,
            quantise_one(e.latency_ms),
            e.device.value,
        )
        fp.add_sample(sample, samples)

    def _place(self, name: str, at: float, samples: int) -> FingerprintState:
        """The record a new fingerprint's events go to (its own, or OTHER's)."""
        if name == OTHER_FINGERPRINTS:
            return self._other()
        rank = fingerprint_rank(name)
        entry = (-rank[0], _Descending(name))
        if len(self.fingerprints) < self.fingerprint_cap:
            heapq.heappush(self._kept, entry)
        elif entry > self._kept[0]:  # a lower rank than the highest kept
            _, highest = heapq.heapreplace(self._kept, entry)
            self._other().absorb(self.fingerprints.pop(highest.name), samples)
        else:
            return self._other()
        fp = self.fingerprints[name] = FingerprintState(at, rank)
        return fp

    def _other(self) -> FingerprintState:
        if self.other is None:
            # First seen comes from what it absorbs or is added, never from here.
            self.other = FingerprintState(math.inf, (0, OTHER_FINGERPRINTS))
        return self.other


class _Descending:
    """A name that sorts backwards: with negated hashes, a max-heap of ranks."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __lt__(self, other: _Descending) -> bool:
        return self.name > other.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.name == other.name

    def __hash__(self) -> int:
        return hash(self.name)


@dataclass(frozen=True, slots=True)
class Columns:
    """One batch's attributed outcomes as columns."""

    slot: IntArray
    bucket: IntArray
    hashes: list[int]
    profile: IntArray
    failed: FloatArray
    primary: FloatArray
    values: dict[str, FloatArray]


def request_value(e: RequestOutcome, name: str) -> float:
    if name == "latency_ms":
        return e.latency_ms
    return float(e.status) if name == "status" else math.nan


def business_value(e: BusinessEvent, name: str) -> float:
    """The attribute `name` if numeric (and in range), else the event's value."""
    for attr, value in e.attributes:
        if (
            attr == name
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            # Events built in code skip parsing: a value no float holds, or one
            # past MAX_VALUE, counts as no value rather than failing the batch.
            try:
                number = float(value)
            except OverflowError:
                return math.nan
            return number if abs(number) <= MAX_VALUE else math.nan
    return math.nan if e.value is None else e.value


def value_column(
    name: str,
    primary: FloatArray,
    kept: list[RequestOutcome | BusinessEvent],
    business: list[int],
) -> FloatArray:
    """One value per kept event: the request field, or the business value."""
    if name == "status":
        return np.array(
            [
                request_value(e, name)
                if isinstance(e, RequestOutcome)
                else business_value(e, name)
                for e in kept
            ],
            dtype=np.float64,
        )
    # Requests' latencies are already the primary column; requests have no
    # other values (NaN), so only business events need a look.
    column = primary.copy() if name == "latency_ms" else np.full(len(kept), np.nan)
    for row in business:
        e = kept[row]
        assert isinstance(e, BusinessEvent)
        column[row] = business_value(e, name)
    return column
