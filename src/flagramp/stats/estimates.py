"""Arm estimates: a ratio, its variance, and how much clustering inflates it.

`ratio_moments` is the vectorised delta method over user buckets (the same formula as
`BucketSums.ratio_variance`, over the last axis), so the guard and the benchmark share
one implementation. The design effect is the clustered variance over the variance the
same rate would have with independent requests, p(1 − p)/n; it carries the user-level
correlation into the variance under the null hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.stats.buckets import BucketSums

FloatArray = npt.NDArray[np.float64]


def ratio_moments(
    numerator: FloatArray, denominator: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Ratio, delta-method variance and denominator total, per row of bucket sums.

    Var(R) ≈ K/(K−1) · Σ_k (y_k − R x_k)² / X² over the K buckets with data; NaN
    ratio without data, NaN variance with fewer than two active buckets.
    """
    x = np.asarray(denominator, dtype=np.float64)
    y = np.asarray(numerator, dtype=np.float64)
    total = x.sum(axis=-1)
    active = np.count_nonzero(x, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, y.sum(axis=-1) / total, np.nan)
        resid = y - np.nan_to_num(ratio)[..., None] * x
        variance = np.where(
            (active >= 2) & (total > 0),
            active
            / (active - 1)
            * np.einsum("...k,...k->...", resid, resid)
            / total**2,
            np.nan,
        )
    return ratio, variance, total


def design_effect(
    ratio: FloatArray, variance: FloatArray, size: FloatArray
) -> FloatArray:
    """Clustered variance over the independent-request variance p(1 − p)/n.

    1 where it cannot be computed (no events yet): the independent case.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        independent = ratio * (1.0 - ratio) / size
        deff = variance / independent
    return np.where(np.isfinite(deff) & (independent > 0), deff, 1.0)


@dataclass(frozen=True, slots=True)
class ArmEstimate:
    """One arm's ratio of sums, as a test needs it.

    `size` is the denominator total (requests), `variance` the variance of
    `estimate`, `design_effect` the variance relative to independent units;
    `per_user` says whether the variance came from user buckets (True) or from a
    per-request formula inflated by an overdispersion factor (False).
    """

    estimate: float
    variance: float
    size: float
    design_effect: float = 1.0
    per_user: bool = True

    @property
    def has_data(self) -> bool:
        """Whether the arm has a denominator and a usable variance."""
        return bool(self.size > 0 and np.isfinite(self.variance))


def arm_from_buckets(sums: BucketSums) -> ArmEstimate:
    """An arm from per-user-bucket sums: user-level (delta-method) variance."""
    ratio, variance, size = ratio_moments(sums.numerator, sums.denominator)
    deff = design_effect(ratio, variance, size)
    return ArmEstimate(float(ratio), float(variance), float(size), float(deff))


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
