"""Delta-method variance over user buckets, against direct computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.errors import StatsError
from flagramp.stats import (
    BucketSums,
    arm_from_buckets,
    arm_from_totals,
    baseline,
    bucket_of,
    design_effect,
    ratio_moments,
)

_USERS = 6000
#: Hashed buckets of the property test's users, computed once (crc32 is not free).
_BUCKETS = np.array([bucket_of(f"user-{i}") for i in range(_USERS)])


def _direct_variance(y: list[float], x: list[float]) -> float:
    # Textbook cluster (delta-method) variance of Σy/Σx, written out longhand.
    k = len(x)
    r = sum(y) / sum(x)
    s = sum((yi - r * xi) ** 2 for yi, xi in zip(y, x, strict=True))
    return k / (k - 1) * s / sum(x) ** 2


@pytest.mark.parametrize(
    ("y", "x"),
    [
        ([1.0, 0.0, 2.0, 1.0], [10.0, 12.0, 9.0, 11.0]),
        ([0.0, 5.0, 0.0], [20.0, 20.0, 20.0]),
        ([3.0, 3.0], [7.0, 2.0]),
    ],
)
def test_ratio_moments_match_direct_formula_and_bucket_sums(
    y: list[float], x: list[float]
) -> None:
    ratio, variance, size = ratio_moments(np.array(y), np.array(x))
    sums = BucketSums(np.array(y), np.array(x))
    assert float(ratio) == pytest.approx(sum(y) / sum(x))
    assert float(variance) == pytest.approx(_direct_variance(y, x))
    assert float(variance) == pytest.approx(sums.ratio_variance())
    assert float(size) == sum(x)


def test_ratio_moments_are_nan_without_enough_buckets() -> None:
    ratio, variance, _ = ratio_moments(np.array([0.0, 1.0]), np.array([0.0, 4.0]))
    assert float(ratio) == 0.25 and math.isnan(float(variance))
    ratio, _, _ = ratio_moments(np.zeros(3), np.zeros(3))
    assert math.isnan(float(ratio))


def test_ratio_moments_vectorise_over_rows() -> None:
    y = np.array([[1.0, 0.0, 2.0], [0.0, 5.0, 0.0]])
    x = np.array([[10.0, 12.0, 9.0], [20.0, 20.0, 20.0]])
    _, variance, _ = ratio_moments(y, x)
    for row in range(2):
        assert variance[row] == pytest.approx(
            _direct_variance(list(y[row]), list(x[row]))
        )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rho=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_bucketed_variance_agrees_with_per_user_delta_method(
    seed: int, rho: float
) -> None:
    # Per-user sums, then the same users summed into hashed buckets: both delta-method
    # variances estimate the same quantity; they agree within sampling error.
    rng = np.random.default_rng(seed)
    users = _USERS
    m = rng.integers(1, 21, users).astype(float)
    p = rng.beta(0.05 * (1 - rho) / rho, 0.95 * (1 - rho) / rho, users) if rho else 0.05
    y = rng.binomial(m.astype(int), p).astype(float)
    per_user = _direct_variance(list(y), list(m))
    num = np.bincount(_BUCKETS, weights=y, minlength=256)
    den = np.bincount(_BUCKETS, weights=m, minlength=256)
    bucketed = BucketSums(
        num.astype(np.float64), den.astype(np.float64)
    ).ratio_variance()
    # Relative standard error of a variance from K = 256 clusters is about sqrt(2/K).
    assert bucketed == pytest.approx(per_user, rel=4 * math.sqrt(2 / 256))


def test_design_effect_is_one_for_binomial_variance_and_without_data() -> None:
    r = np.array([0.01, np.nan])
    n = np.array([1000.0, 0.0])
    v = r * (1 - r) / n
    assert list(design_effect(r, v, n)) == [pytest.approx(1.0), 1.0]


def test_arm_from_buckets_carries_design_effect() -> None:
    sums = BucketSums(
        np.array([0.0, 10.0, 0.0, 0.0]), np.array([10.0, 10.0, 10.0, 10.0])
    )
    arm = arm_from_buckets(sums)
    assert arm.estimate == 0.25 and arm.per_user and arm.has_data
    assert arm.design_effect == pytest.approx(arm.variance / (0.25 * 0.75 / 40))


@pytest.mark.parametrize(
    ("num", "den", "phi", "unit", "variance"),
    [
        (10, 1000, 1.0, None, 0.01 * 0.99 / 1000),
        (10, 1000, 2.5, None, 2.5 * 0.01 * 0.99 / 1000),
        (4200, 1000, 1.5, 1.44, 1.5 * 1.44 / 1000),
    ],
)
def test_arm_from_totals_uses_inflated_per_request_variance(
    num: float, den: float, phi: float, unit: float | None, variance: float
) -> None:
    arm = arm_from_totals(num, den, overdispersion=phi, unit_variance=unit)
    assert arm.variance == pytest.approx(variance)
    assert not arm.per_user and arm.design_effect == phi


def test_arm_from_totals_without_requests_has_no_data() -> None:
    assert not arm_from_totals(0, 0).has_data


@pytest.mark.parametrize(("num", "den", "phi"), [(-1, 10, 1.0), (1, 10, 0.5)])
def test_arm_from_totals_rejects_bad_inputs(num: float, den: float, phi: float) -> None:
    with pytest.raises(StatsError):
        arm_from_totals(num, den, overdispersion=phi)


def test_baseline_rejects_empty_windows() -> None:
    assert baseline(0.01, 1e-6, 5000).estimate == 0.01
    with pytest.raises(StatsError):
        baseline(0.01, 1e-6, 0)
