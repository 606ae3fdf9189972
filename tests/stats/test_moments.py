"""Bucket moments: outliers pulled in, ordinary traffic untouched, rows independent."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flagramp.stats import bucket_moments, ratio_moments


def _storm() -> tuple[np.ndarray, np.ndarray]:
    # 20 buckets of 10 requests with one error each, bucket 0 also holds 50
    # failures of one retrying user.
    y, x = np.ones(20), np.full(20, 10.0)
    y[0], x[0] = 51.0, 60.0
    return y, x


def test_an_outlying_bucket_is_pulled_in_to_the_arm_rate() -> None:
    y, x = _storm()
    m = bucket_moments(y, x)
    assert float(m.estimate) == pytest.approx(70 / 250)
    # Every other bucket sits at 10 %: the storm bucket counts as 10 % of its 60.
    assert float(m.high_pulled_in) == pytest.approx(0.1)
    # The low side has no outlier; the spread without the storm is nil.
    assert float(m.low_pulled_in) == pytest.approx(float(m.estimate))
    assert float(m.robust_variance) == pytest.approx(0.0, abs=1e-15)
    assert float(m.variance) > 0.0


def test_a_lowest_outlier_is_pulled_up() -> None:
    # A success rate: bucket 0's user failed 50 times (few successes).
    y, x = _storm()
    successes = x - y
    m = bucket_moments(successes, x)
    assert float(m.low_pulled_in) == pytest.approx(0.9)
    assert float(m.high_pulled_in) == pytest.approx(float(m.estimate))


def test_ordinary_traffic_is_untouched() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(20, 60, 256).astype(float)
    y = rng.binomial(x.astype(int), 0.02).astype(float)
    m = bucket_moments(y, x)
    ratio, variance, size = ratio_moments(y, x)
    assert float(m.high_pulled_in) == float(m.low_pulled_in) == float(ratio)
    assert float(m.robust_variance) == pytest.approx(float(variance))
    assert float(m.size) == float(size)


@pytest.mark.parametrize("active", [0, 1, 2, 3])
def test_too_few_buckets_keep_the_plain_estimate(active: int) -> None:
    y, x = np.zeros(8), np.zeros(8)
    y[:active], x[:active] = [50.0, 1.0, 0.0][:active], [50.0, 10.0, 10.0][:active]
    m = bucket_moments(y, x)
    same = np.isnan if active == 0 else (lambda v: v == float(m.estimate))
    assert same(float(m.high_pulled_in)) and same(float(m.low_pulled_in))


def test_a_single_bucket_axis_is_accepted() -> None:
    m = bucket_moments(np.array([3.0]), np.array([10.0]))
    assert float(m.estimate) == 0.3 and math.isnan(float(m.variance))


_rows = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.just(12)),
    elements=st.integers(0, 40).map(float),
)


@settings(max_examples=60, deadline=None)
@given(x=_rows, share=st.floats(0.0, 1.0))
def test_pulled_in_estimates_bracket_the_estimate_row_by_row(
    x: np.ndarray, share: float
) -> None:
    y = np.floor(x * share)
    y[:, 0] += 25 * (x[:, 0] > 0)  # sometimes a storm
    m = bucket_moments(y, x)
    with np.errstate(invalid="ignore"):
        ok = np.isnan(m.estimate) | (
            (m.high_pulled_in <= m.estimate + 1e-12)
            & (m.estimate <= m.low_pulled_in + 1e-12)
        )
    assert ok.all()
    for r in range(x.shape[0]):
        one = bucket_moments(y[r], x[r])
        np.testing.assert_allclose(
            [one.high_pulled_in, one.low_pulled_in, one.robust_variance],
            [m.high_pulled_in[r], m.low_pulled_in[r], m.robust_variance[r]],
            equal_nan=True,
        )
