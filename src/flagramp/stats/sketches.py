"""Mergeable sketches: DDSketch for quantiles, HyperLogLog for distinct actors.

Both are frozen values whose `merge` is exact (the merged sketch is the sketch of
the union of the inputs) and associative, so minute windows compact into hours and
days without going back to events.

`QuantileSketch` keeps DDSketch's bins (package `ddsketch`, logarithmic mapping) as
numpy arrays: a batch of values maps to keys in one vectorised step, which is what
makes ingest fast; `to_ddsketch` rebuilds the package's sketch for quantile queries.
`DistinctActors` counts actors exactly up to a cap, then with an Apache DataSketches
HLL; actors are 63-bit hashes (`actor_hash`), never ids, so windows hold no raw ids.
"""

from __future__ import annotations

import base64
import hashlib
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from datasketches import hll_sketch, hll_union, tgt_hll_type
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

from flagramp.core.errors import StatsError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: DDSketch's relative accuracy: a p95 of 800 ms reads as 792–808 ms.
DEFAULT_RELATIVE_ACCURACY = 0.01
#: Distinct actors are counted exactly up to this many, then with HyperLogLog.
DEFAULT_EXACT_CAP = 64
#: HLL precision: 2^12 registers, about 1.6 % relative standard error.
DEFAULT_LG_K = 12
#: JSON-ish dictionary, as windows serialise to.
JsonRecord = dict[str, object]


def actor_hash(actor: str) -> int:
    """A stable 63-bit hash of an actor id (fits a signed 64-bit integer)."""
    # surrogatepass: total on every str (valid text encodes as plain UTF-8).
    digest = hashlib.blake2b(
        actor.encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") >> 1


def _gamma_multiplier(relative_accuracy: float) -> float:
    # Same constants as ddsketch.mapping.LogarithmicMapping, so keys agree with it.
    mantissa = 2 * relative_accuracy / (1 - relative_accuracy)
    return math.log(2) / math.log1p(mantissa)


@dataclass(frozen=True, slots=True, eq=False)
class QuantileSketch:
    """DDSketch bins: sorted keys and their counts, for positive and negative values.

    `count`, `total`, `minimum` and `maximum` are exact. Values are quantised by the
    caller (see `stats.windows.quantise`) so that totals add exactly.
    """

    relative_accuracy: float
    keys: IntArray
    counts: FloatArray
    negative_keys: IntArray
    negative_counts: FloatArray
    zero_count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    @classmethod
    def empty(
        cls, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY
    ) -> QuantileSketch:
        """A sketch of no values."""
        none_i, none_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return cls(relative_accuracy, none_i, none_f, none_i, none_f)

    @classmethod
    def of(
        cls,
        values: npt.ArrayLike,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
    ) -> QuantileSketch:
        """The sketch of `values`, in one vectorised pass."""
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            return cls.empty(relative_accuracy)
        if not np.isfinite(v).all():
            raise StatsError("a quantile sketch takes finite values only")
        multiplier = _gamma_multiplier(relative_accuracy)
        # ddsketch's own zero threshold: tiny values land where it puts them.
        tiny = sys.float_info.min * (
            1 + 2 * relative_accuracy / (1 - relative_accuracy)
        )
        pos, neg = v[v > tiny], -v[v < -tiny]
        keys, counts = _bins(pos, multiplier)
        nkeys, ncounts = _bins(neg, multiplier)
        return cls(
            relative_accuracy,
            keys,
            counts,
            nkeys,
            ncounts,
            zero_count=float(v.size - pos.size - neg.size),
            total=float(v.sum()),
            minimum=float(v.min()),
            maximum=float(v.max()),
        )

    @property
    def count(self) -> float:
        """How many values the sketch holds."""
        return float(self.counts.sum() + self.negative_counts.sum() + self.zero_count)

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """The sketch of both inputs' values; exact, associative, commutative."""
        if other.relative_accuracy != self.relative_accuracy:
            raise StatsError("cannot merge sketches of different relative accuracy")
        keys, counts = _add_bins(self.keys, self.counts, other.keys, other.counts)
        nkeys, ncounts = _add_bins(
            self.negative_keys,
            self.negative_counts,
            other.negative_keys,
            other.negative_counts,
        )
        return QuantileSketch(
            self.relative_accuracy,
            keys,
            counts,
            nkeys,
            ncounts,
            self.zero_count + other.zero_count,
            self.total + other.total,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )

    def to_ddsketch(self) -> DDSketch:
        """The `ddsketch.DDSketch` with these bins (for its quantile estimate)."""
        sketch = DDSketch(self.relative_accuracy)
        mapping = LogarithmicMapping(self.relative_accuracy)
        for key, weight in zip(self.keys.tolist(), self.counts.tolist(), strict=True):
            sketch.add(mapping.value(key), weight)
        for key, weight in zip(
            self.negative_keys.tolist(), self.negative_counts.tolist(), strict=True
        ):
            sketch.add(-mapping.value(key), weight)
        if self.zero_count > 0:
            sketch.add(0.0, self.zero_count)
        return sketch

    def quantile(self, q: float) -> float:
        """The q-quantile within the relative accuracy; NaN for an empty sketch."""
        if not 0.0 <= q <= 1.0:
            raise StatsError(f"quantile {q} is not between 0 and 1")
        if self.count == 0:
            return math.nan
        value = self.to_ddsketch().get_quantile_value(q)
        return math.nan if value is None else float(value)

    def to_record(self) -> JsonRecord:
        """A JSON-able dictionary (`from_record` reads it back)."""
        return {
            "relative_accuracy": self.relative_accuracy,
            "keys": self.keys.tolist(),
            "counts": self.counts.tolist(),
            "negative_keys": self.negative_keys.tolist(),
            "negative_counts": self.negative_counts.tolist(),
            "zero_count": self.zero_count,
            "total": self.total,
            "minimum": _finite_or_none(self.minimum),
            "maximum": _finite_or_none(self.maximum),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> QuantileSketch:
        """The sketch `to_record` wrote; raises StatsError if it is malformed."""
        try:
            low, high = record["minimum"], record["maximum"]
            return cls(
                float(_num(record["relative_accuracy"])),
                np.asarray(record["keys"], dtype=np.int64),
                np.asarray(record["counts"], dtype=np.float64),
                np.asarray(record["negative_keys"], dtype=np.int64),
                np.asarray(record["negative_counts"], dtype=np.float64),
                float(_num(record["zero_count"])),
                float(_num(record["total"])),
                math.inf if low is None else float(_num(low)),
                -math.inf if high is None else float(_num(high)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StatsError(f"malformed quantile sketch: {exc}") from exc

    def same_as(self, other: QuantileSketch) -> bool:
        """Whether both sketches hold the same bins and summary values."""
        return self.to_record() == other.to_record()


def _bins(values: FloatArray, multiplier: float) -> tuple[IntArray, FloatArray]:
    if values.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    # ddsketch: key = ceil(log2(v) · multiplier); computed as log(v)/log(2) like
    # math.log(v, 2) does.
    raw = np.ceil(np.log(values) / math.log(2) * multiplier).astype(np.int64)
    keys, counts = np.unique(raw, return_counts=True)
    return keys, counts.astype(np.float64)


def _add_bins(
    k1: IntArray, c1: FloatArray, k2: IntArray, c2: FloatArray
) -> tuple[IntArray, FloatArray]:
    if k2.size == 0:
        return k1, c1
    if k1.size == 0:
        return k2, c2
    keys, where = np.unique(np.concatenate([k1, k2]), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate([c1, c2]), minlength=keys.size)
    return keys.astype(np.int64), counts.astype(np.float64)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _num(value: object) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return value


@dataclass(frozen=True, slots=True, eq=False)
class DistinctActors:
    """Distinct actor hashes: an exact set up to `cap`, then an HLL sketch.

    `sketch` (compact HLL bytes) is set once the union passed the cap; `hashes` is
    then empty. Merging is exact: the same actors give the same state whatever the
    order or grouping of merges.
    """

    hashes: frozenset[int] = frozenset()
    sketch: bytes | None = None
    cap: int = DEFAULT_EXACT_CAP
    lg_k: int = DEFAULT_LG_K
    _cache: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        hashes: Iterable[int],
        cap: int = DEFAULT_EXACT_CAP,
        lg_k: int = DEFAULT_LG_K,
    ) -> DistinctActors:
        """The distinct count of these actor hashes (see `actor_hash`)."""
        exact = frozenset(hashes)
        if len(exact) <= cap:
            return cls(exact, None, cap, lg_k)
        return cls(frozenset(), _hll_bytes(exact, (), lg_k), cap, lg_k)

    @property
    def is_exact(self) -> bool:
        """Whether the count is exact (at most `cap` actors)."""
        return self.sketch is None

    def estimate(self) -> float:
        """How many distinct actors: exact below the cap, else the HLL estimate."""
        if self.sketch is None:
            return float(len(self.hashes))
        if "estimate" not in self._cache:
            self._cache["estimate"] = hll_sketch.deserialize(self.sketch).get_estimate()
        return self._cache["estimate"]

    def bounds(self, std_devs: int = 2) -> tuple[float, float]:
        """Lower and upper bounds at `std_devs` (1–3) standard deviations."""
        if self.sketch is None:
            return float(len(self.hashes)), float(len(self.hashes))
        hll = hll_sketch.deserialize(self.sketch)
        return hll.get_lower_bound(std_devs), hll.get_upper_bound(std_devs)

    def merge(self, other: DistinctActors) -> DistinctActors:
        """The distinct actors of both."""
        if (other.cap, other.lg_k) != (self.cap, self.lg_k):
            raise StatsError("cannot merge distinct counts of different cap or lg_k")
        if self.sketch is None and other.sketch is None:
            return DistinctActors.of(self.hashes | other.hashes, self.cap, self.lg_k)
        sketches = tuple(s for s in (self.sketch, other.sketch) if s is not None)
        merged = _hll_bytes(self.hashes | other.hashes, sketches, self.lg_k)
        return DistinctActors(frozenset(), merged, self.cap, self.lg_k)

    @classmethod
    def union(cls, values: Iterable[DistinctActors]) -> DistinctActors:
        """The distinct actors of all `values` (what pairwise `merge` gives)."""
        parts = list(values)
        if not parts:
            raise StatsError("no distinct-actor counts to unite")
        cap, lg_k = parts[0].cap, parts[0].lg_k
        if any((p.cap, p.lg_k) != (cap, lg_k) for p in parts):
            raise StatsError("cannot merge distinct counts of different cap or lg_k")
        hashes = frozenset().union(*(p.hashes for p in parts))
        sketches = tuple(p.sketch for p in parts if p.sketch is not None)
        if not sketches:
            return cls.of(hashes, cap, lg_k)
        return cls(frozenset(), _hll_bytes(hashes, sketches, lg_k), cap, lg_k)

    def to_record(self) -> JsonRecord:
        """A JSON-able dictionary (`from_record` reads it back)."""
        return {
            "hashes": sorted(self.hashes),
            "hll": None
            if self.sketch is None
            else base64.b64encode(self.sketch).decode(),
            "cap": self.cap,
            "lg_k": self.lg_k,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> DistinctActors:
        """The value `to_record` wrote; raises StatsError if it is malformed."""
        try:
            hashes = record["hashes"]
            hll = record["hll"]
            if not isinstance(hashes, list) or not (
                hll is None or isinstance(hll, str)
            ):
                raise TypeError("hashes must be a list and hll a string or null")
            return cls(
                frozenset(int(_num(h)) for h in hashes),
                None if hll is None else base64.b64decode(hll, validate=True),
                int(_num(record["cap"])),
                int(_num(record["lg_k"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StatsError(f"malformed distinct-actor count: {exc}") from exc

    def same_as(self, other: DistinctActors) -> bool:
        """Whether both hold the same state (exact set, or equal HLL estimates)."""
        if self.is_exact or other.is_exact:
            return self.is_exact == other.is_exact and self.hashes == other.hashes
        return self.estimate() == other.estimate()


def _hll_bytes(hashes: Iterable[int], sketches: Iterable[bytes], lg_k: int) -> bytes:
    # Rationale: every sketch goes through a union, even a fresh one, so that all
    # estimates come from the same (composite) estimator and merge order never shows.
    union = hll_union(lg_k)
    fresh = hll_sketch(lg_k, tgt_hll_type.HLL_8)
    # Sorted: a sparse sketch serialises its coupons in insertion order, and a set's
    # iteration order depends on its history; the same actors give the same bytes.
    for h in sorted(hashes):
        fresh.update(h)
    union.update(fresh)
    for data in sketches:
        union.update(hll_sketch.deserialize(data))
    return bytes(union.get_result(tgt_hll_type.HLL_8).serialize_compact())
