"""Mutable per-minute state of one batch while `stats.batch_ingest` sums it (private).

Lives only for the batch: `freeze` turns each minute into a `Window` value.
"""

from __future__ import annotations

import bisect
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
from flagramp.stats.windows import SampleEvent, fingerprint_rank, quantise

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
        self._highest: FingerprintState | None = None

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
            float(quantise(e.latency_ms)),
            e.device.value,
        )
        fp.add_sample(sample, samples)

    def _place(self, name: str, at: float, samples: int) -> FingerprintState:
        """The record a new fingerprint's events go to (its own, or OTHER's)."""
        rank = fingerprint_rank(name)
        if name != OTHER_FINGERPRINTS:
            if len(self.fingerprints) < self.fingerprint_cap:
                fp = self.fingerprints[name] = FingerprintState(at, rank)
                if self._highest is not None and rank > self._highest.rank:
                    self._highest = fp
                return fp
            highest = self._highest_kept()
            if rank < highest.rank:
                del self.fingerprints[highest.rank[1]]
                self._other().absorb(highest, samples)
                self._highest = None
                fp = self.fingerprints[name] = FingerprintState(at, rank)
                return fp
        return self._other()

    def _highest_kept(self) -> FingerprintState:
        if self._highest is None:
            self._highest = max(self.fingerprints.values(), key=lambda f: f.rank)
        return self._highest

    def _other(self) -> FingerprintState:
        if self.other is None:
            # First seen comes from what it absorbs or is added, never from here.
            self.other = FingerprintState(math.inf, (0, OTHER_FINGERPRINTS))
        return self.other


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
