"""Sums kept per hashed user bucket, for user-level variance that still merges.

A user always lands in one bucket (`bucket_of`), so a bucket's sums add across
minutes and across windows; the variance of a ratio of sums then comes from the
spread between buckets (delta method), which counts a user's 20 requests as one
correlated unit instead of 20 independent samples.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError

#: Default number of user buckets: enough for a stable variance estimate, small
#: enough that a window stays a few kilobytes.
DEFAULT_BUCKETS = 256

FloatArray = npt.NDArray[np.float64]


def bucket_of(actor: str, buckets: int = DEFAULT_BUCKETS) -> int:
    """The bucket a user's events are summed in; stable across processes.

    Rationale: crc32 with a salt distinct from flag bucketing, so bucket membership
    is independent of who is in treatment.
    """
    # surrogatepass: total on every str (valid text encodes as plain UTF-8).
    key = actor.encode("utf-8", "surrogatepass")
    return zlib.crc32(b"flagramp-user-bucket:" + key) % buckets


@dataclass(frozen=True, slots=True)
class BucketSums:
    """Per-bucket sums of a numerator and a denominator (errors / requests…).

    Immutable; `merge` returns a new value. Both arrays have one entry per bucket.
    """

    numerator: FloatArray
    denominator: FloatArray

    @classmethod
    def zeros(cls, buckets: int = DEFAULT_BUCKETS) -> BucketSums:
        """An empty value with `buckets` buckets."""
        return cls(np.zeros(buckets), np.zeros(buckets))

    @property
    def buckets(self) -> int:
        return int(self.numerator.shape[0])

    def merge(self, other: BucketSums) -> BucketSums:
        """The sums of both: exact, associative and commutative."""
        if other.buckets != self.buckets:
            raise StatsError("cannot merge bucket sums with different bucket counts")
        return BucketSums(
            self.numerator + other.numerator, self.denominator + other.denominator
        )

    @property
    def total_numerator(self) -> float:
        return float(self.numerator.sum())

    @property
    def total_denominator(self) -> float:
        return float(self.denominator.sum())

    def ratio(self) -> float:
        """Numerator total over denominator total (NaN when there is no data)."""
        den = self.total_denominator
        return self.total_numerator / den if den > 0 else float("nan")

    def ratio_variance(self) -> float:
        """Delta-method variance of the ratio of sums, from between-bucket spread.

        Treats buckets as i.i.d. clusters: Var(R) ≈ K/(K-1) · Σ(y_k - R·x_k)² / X²,
        where X is the denominator total. Returns NaN with fewer than two active
        buckets.
        """
        x, y = self.denominator, self.numerator
        active = int(np.count_nonzero(x))
        total = float(x.sum())
        if active < 2 or total <= 0:
            return float("nan")
        r = float(y.sum()) / total
        resid = y - r * x
        return float(active / (active - 1) * np.dot(resid, resid) / total**2)
