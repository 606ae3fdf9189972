"""The guard's two one-sided tests: variance at each side's own boundary, pooled."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.stats import (
    ArmEstimate,
    ArmMoments,
    Comparison,
    Direction,
    GuardOutcome,
    RatioGuard,
    Side,
    arm_from_totals,
    baseline,
    evaluate_ratio_guard,
    excess_and_variance,
)


def _m(errors: float, requests: float, deff: float = 1.0) -> ArmMoments:
    return arm_from_totals(errors, requests, overdispersion=deff).moments()


def test_control_variance_is_at_the_pooled_boundary_rate() -> None:
    # 30/1000 vs 200/10000, boundary H = 0.005 on the lower side.
    s, v = excess_and_variance(
        Side.LOWER, 0.005, _m(30, 1000), _m(200, 10000),
        comparison=Comparison.CONTROL, sign=1.0,
    )  # fmt: skip
    p_c = (30 + 200 - 0.005 * 1000) / 11000
    p_t = p_c + 0.005
    assert float(v) == pytest.approx(p_t * (1 - p_t) / 1000 + p_c * (1 - p_c) / 10000)
    skew = (1 - 2 * p_t) / 1000 - (1 - 2 * p_c) / 10000
    assert float(s) == pytest.approx(0.03 - 0.02 - 0.005 - 0.5 * skew)


def test_upper_side_variance_is_at_margin_plus_mde_not_its_mirror() -> None:
    # Issue 13 took p0 = reference − boundary (clipped to 0.5/n) for the upper bound.
    s, v = excess_and_variance(
        Side.UPPER, 0.06, _m(55, 1000), None, comparison=Comparison.ABSOLUTE, sign=1.0
    )
    assert float(v) == pytest.approx(0.06 * 0.94 / 1000)
    assert float(s) == pytest.approx(0.06 - 0.055)  # no correction: light left tail


def test_baseline_adds_its_fixed_variance() -> None:
    s, v = excess_and_variance(
        Side.LOWER, 0.0, _m(30, 1000, 2.0), baseline(0.02, 1e-6, 50000).moments(),
        comparison=Comparison.BASELINE, sign=1.0,
    )  # fmt: skip
    assert float(v) == pytest.approx(2.0 * 0.02 * 0.98 / 1000 + 1e-6)
    assert float(s) == pytest.approx(0.01 - 0.5 * 2.0 * (1 - 0.04) / 1000)


def test_means_use_at_least_the_pooled_unit_variance() -> None:
    t = ArmEstimate(1.0, 0.0, 30.0).moments()  # 30 identical ratings
    c = ArmEstimate(4.5, 0.5 / 3000, 3000.0).moments()  # unit variance 0.5
    _, v = excess_and_variance(
        Side.LOWER, 0.2, t, c, comparison=Comparison.CONTROL, sign=-1.0,
        proportion=False,
    )  # fmt: skip
    pooled = 3000 * 0.5 / 3030
    assert float(v) == pytest.approx(pooled / 30 + 0.5 / 3000)


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(10, 400),
    split=st.floats(0.0, 1.0),
    n_t=st.integers(500, 20000),
    n_c=st.integers(500, 20000),
)
def test_null_variance_depends_on_the_errors_only_through_their_total(
    total: int, split: float, n_t: int, n_c: int
) -> None:
    # Rationale of item 2: at the boundary H = 0 the variance is a function of the
    # pooled rate, so it cannot shrink when control happens to read low.
    def variance(errors_t: float) -> float:
        _, v = excess_and_variance(
            Side.LOWER, 0.0, _m(errors_t, n_t), _m(total - errors_t, n_c),
            comparison=Comparison.CONTROL, sign=1.0,
        )  # fmt: skip
        return float(v)

    low, high = max(0, total - n_c), min(total, n_t)
    assert variance(low + split * (high - low)) == pytest.approx(variance(low))


@settings(max_examples=60, deadline=None)
@given(
    e_t=st.integers(0, 300),
    e_c=st.integers(0, 3000),
    comparison=st.sampled_from(list(Comparison)),
    limit=st.sampled_from([0.0, 0.005, 0.05]),
)
def test_a_success_rate_mirrors_its_failure_rate(
    e_t: int, e_c: int, comparison: Comparison, limit: float
) -> None:
    # "success ≥ 1 − x" with lower-is-worse is the same question as "failures ≤ x".
    n_t, n_c = 3000, 30000
    fail = RatioGuard("f", comparison, limit, 0.01, 0.025)
    succeed = RatioGuard(
        "s", comparison, 1 - limit if comparison is Comparison.ABSOLUTE else limit,
        0.01, 0.025, direction=Direction.LOWER_IS_WORSE,
    )  # fmt: skip
    ref_f = arm_from_totals(e_c, n_c)
    ref_s = arm_from_totals(n_c - e_c, n_c)
    if comparison is Comparison.BASELINE:
        ref_f = baseline(ref_f.estimate, ref_f.variance, n_c)
        ref_s = baseline(ref_s.estimate, ref_s.variance, n_c)
    a = evaluate_ratio_guard(fail, arm_from_totals(e_t, n_t), ref_f)
    b = evaluate_ratio_guard(succeed, arm_from_totals(n_t - e_t, n_t), ref_s)
    assert a.outcome is b.outcome
    assert a.evidence.statistic == pytest.approx(b.evidence.statistic, rel=1e-9)
    if math.isfinite(a.evidence.upper) and a.outcome is not GuardOutcome.HARMFUL:
        shift = 1.0 if comparison is Comparison.ABSOLUTE else 0.0
        assert shift - a.evidence.upper == pytest.approx(b.evidence.lower, abs=1e-8)


def test_plug_in_variance_when_asked() -> None:
    t, c = _m(30, 1000), _m(200, 10000)
    _, v = excess_and_variance(
        Side.LOWER, 0.0, t, c, comparison=Comparison.CONTROL, sign=1.0,
        null_variance=False,
    )  # fmt: skip
    assert float(v) == pytest.approx(0.03 * 0.97 / 1000 + 0.02 * 0.98 / 10000)


def test_a_mean_against_its_baseline_takes_the_larger_unit_variance() -> None:
    t = ArmEstimate(4.0, 0.2 / 100, 100.0).moments()  # unit variance 0.2
    b = baseline(4.5, 0.8 / 4000, 4000).moments()  # unit variance 0.8
    _, v = excess_and_variance(
        Side.LOWER, 0.2, t, b, comparison=Comparison.BASELINE, sign=-1.0,
        proportion=False,
    )  # fmt: skip
    assert float(v) == pytest.approx(0.8 / 100 + 0.8 / 4000)
