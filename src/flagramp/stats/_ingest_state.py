"""Mutable per-minute state of `stats.ingest.WindowIngest` (private helpers)."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.events import BusinessEvent, RequestOutcome
from flagramp.stats.sketches import QuantileSketch
from flagramp.stats.windows import SampleEvent, quantise

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Distinct event profiles remembered before the cache is rebuilt from scratch.
MAX_PROFILES = 100_000


@dataclass(frozen=True, slots=True)
class Profile:
    """What every event of one (name, route, device, status, attributes) feeds."""

    index: int
    roles: tuple[tuple[bool, bool], ...]
    breakdown: int
    failed: bool


class FingerprintState:
    __slots__ = ("actors", "count", "first_seen", "samples")

    def __init__(self, at: float) -> None:
        self.count = 0
        self.actors: set[int] = set()
        self.first_seen = at
        self.samples: list[SampleEvent] = []


class MinuteState:
    """Mutable sums of one minute and lane while events arrive."""

    def __init__(self, specs: int, buckets: int) -> None:
        self.exposure_events = np.zeros(buckets)
        self.new_actors = np.zeros(buckets)
        self.actors: set[int] = set()
        self.num = np.zeros((specs, buckets))
        self.den = np.zeros((specs, buckets))
        self.metric_actors: list[set[int]] = [set() for _ in range(specs)]
        self.sketches: list[QuantileSketch | None] = [None] * specs
        self.breakdown: dict[int, list[float]] = {}
        self.fingerprints: dict[str, FingerprintState] = {}

    def add_error(self, e: RequestOutcome, h: int, cap: int) -> None:
        assert e.error is not None
        at = e.at.timestamp()
        fp = self.fingerprints.get(e.error)
        if fp is None:
            fp = self.fingerprints[e.error] = FingerprintState(at)
        fp.count += 1
        fp.actors.add(h)
        fp.first_seen = min(fp.first_seen, at)
        if len(fp.samples) < cap or at < fp.samples[-1].at:
            # Redacted: a short hash tag tells samples of one user apart, no id.
            sample = SampleEvent(
                at,
                f"{h:016x}"[:8],
                e.route,
                e.status,
                float(quantise(e.latency_ms)),
                e.device.value,
            )
            # Samples form a set (as in `FingerprintStats.merge`): identical
            # retries are kept once, so merges of parts equal the whole.
            if sample not in fp.samples:
                bisect.insort(fp.samples, sample)
                del fp.samples[cap:]


@dataclass(frozen=True, slots=True)
class Columns:
    """One batch's attributed outcomes as columns."""

    slot: IntArray
    bucket: IntArray
    hashes: list[int]
    profile: IntArray
    breakdown: IntArray
    failed: FloatArray
    primary: FloatArray
    values: dict[str, FloatArray]


def request_value(e: RequestOutcome, name: str) -> float:
    if name == "latency_ms":
        return e.latency_ms
    return float(e.status) if name == "status" else math.nan


def business_value(e: BusinessEvent, name: str) -> float:
    for attr, value in e.attributes:
        if (
            attr == name
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return float(value)
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
