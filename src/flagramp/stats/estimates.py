"""Arm estimates: a ratio, its variance, and how much clustering inflates it.

The scalar face of `stats.moments`: `arm_from_buckets` summarises per-user-bucket sums
(user-level delta-method variance, design effect, and the winsorised view that keeps
one heavy user from carrying a guard); `arm_from_totals` and `baseline` build arms for
sources that have no users. `ArmEstimate.moments()` hands a guard the 0-d arrays that
the vectorised test functions take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.stats.buckets import BucketSums
from flagramp.stats.moments import (
    ArmMoments,
    bucket_moments,
    design_effect,
    ratio_moments,
)

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "ArmEstimate",
    "arm_from_buckets",
    "arm_from_totals",
    "baseline",
    "design_effect",
    "ratio_moments",
]


@dataclass(frozen=True, slots=True)
class ArmEstimate:
    """One arm's ratio of sums, as a test needs it.

    `size` is the denominator total (requests), `variance` the variance of
    `estimate`, `design_effect` the variance relative to independent units;
    `per_user` says whether the variance came from user buckets (True) or from a
    per-request formula inflated by an overdispersion factor (False).

    The optional fields are the winsorised view (`stats.moments`): the estimate with
    its highest / lowest user bucket pulled in, and the variance and design effect
    with both pulled in. None means "same as the plain value" (totals, baselines).
    """

    estimate: float
    variance: float
    size: float
    design_effect: float = 1.0
    per_user: bool = True
    high_pulled_in: float | None = None
    low_pulled_in: float | None = None
    robust_variance: float | None = None
    robust_design_effect: float | None = None

    @property
    def has_data(self) -> bool:
        """Whether the arm has a denominator and a usable variance."""
        return bool(self.size > 0 and np.isfinite(self.variance))

    @property
    def has_variance(self) -> bool:
        """Whether the variance could be estimated (two user buckets or more)."""
        return math.isfinite(self.variance) and self.variance >= 0

    def moments(self) -> ArmMoments:
        """The arm as the 0-d arrays that `stats.one_sided` takes."""

        def value(x: float | None, default: float) -> FloatArray:
            return np.asarray(default if x is None else x, dtype=np.float64)

        return ArmMoments(
            estimate=value(None, self.estimate),
            size=value(None, self.size),
            variance=value(None, self.variance),
            design_effect=value(None, self.design_effect),
            high_pulled_in=value(self.high_pulled_in, self.estimate),
            low_pulled_in=value(self.low_pulled_in, self.estimate),
            robust_variance=value(self.robust_variance, self.variance),
            robust_design_effect=value(self.robust_design_effect, self.design_effect),
        )


def arm_from_buckets(sums: BucketSums) -> ArmEstimate:
    """An arm from per-user-bucket sums: user-level variance, winsorised view."""
    m = bucket_moments(sums.numerator, sums.denominator)
    return ArmEstimate(
        float(m.estimate),
        float(m.variance),
        float(m.size),
        float(m.design_effect),
        True,
        float(m.high_pulled_in),
        float(m.low_pulled_in),
        float(m.robust_variance),
        float(m.robust_design_effect),
    )


def arm_from_totals(
    numerator: float,
    denominator: float,
    *,
    overdispersion: float = 1.0,
    unit_variance: float | None = None,
) -> ArmEstimate:
    """An arm from totals only (Prometheus, Datadog): no per-user data.

    The variance is per request, φ·p(1 − p)/n for a proportion (or φ·σ²/n with a
    given per-unit variance σ² for a mean), inflated by the overdispersion factor φ
    estimated from the pre-run window. The evidence says so (`per_user` False).
    Without users nothing can be winsorised: one heavy user is not bounded here.
    """
    if denominator < 0 or numerator < 0 or overdispersion < 1.0:
        raise StatsError("totals must be >= 0 and the overdispersion factor >= 1")
    if denominator == 0:
        return ArmEstimate(float("nan"), float("nan"), 0.0, overdispersion, False)
    p = numerator / denominator
    unit = p * (1.0 - p) if unit_variance is None else unit_variance
    return ArmEstimate(
        p, overdispersion * unit / denominator, denominator, overdispersion, False
    )


def baseline(estimate: float, variance: float, size: float) -> ArmEstimate:
    """A pre-run baseline: a fixed, known estimate with its variance (seed 003)."""
    if size <= 0 or variance < 0:
        raise StatsError("a baseline needs a positive size and a variance >= 0")
    return ArmEstimate(estimate, variance, size)
