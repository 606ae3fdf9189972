"""Known answers for the normal-mixture SPRT, its tuning and the Wald bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import halfnorm

from flagramp.core.errors import StatsError
from flagramp.stats import (
    crosses,
    log_mixture_ratio,
    mixing_variance,
    mixture_radius,
    two_sided_radius,
    wald_sample_size,
)


@pytest.mark.parametrize(
    ("excess", "variance", "tau2"),
    [(0.0, 1.0, 1.0), (1.5, 0.5, 2.0), (-0.7, 2.0, 0.3), (0.003, 1e-6, 9e-5)],
)
def test_mixture_ratio_equals_numerical_integral(
    excess: float, variance: float, tau2: float
) -> None:
    # Λ = ∫ N(S; θ, V) / N(S; 0, V) · half-normal(θ; τ) dθ, computed by quadrature.
    tau = math.sqrt(tau2)

    def integrand(theta: float) -> float:
        lr = math.exp((theta * excess - theta * theta / 2.0) / variance)
        return lr * float(halfnorm.pdf(theta, scale=tau))

    expected, _ = integrate.quad(integrand, 0.0, 40.0 * tau)
    got = math.exp(float(log_mixture_ratio(excess, variance, tau2)))
    assert got == pytest.approx(expected, rel=1e-6)


def test_mixture_ratio_is_increasing_in_the_excess() -> None:
    s = np.linspace(-0.01, 0.02, 200)
    values = log_mixture_ratio(s, 1e-5, 1e-4)
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize(
    ("variance", "tau2", "alpha"), [(1e-6, 1e-4, 0.025), (1.0, 1.0, 0.05)]
)
def test_radius_is_where_the_ratio_reaches_one_over_alpha(
    variance: float, tau2: float, alpha: float
) -> None:
    r = mixture_radius(variance, tau2, alpha)
    assert float(log_mixture_ratio(r, variance, tau2)) == pytest.approx(
        math.log(1 / alpha), abs=1e-9
    )
    assert bool(crosses(r * 1.001, variance, tau2, alpha))
    assert not bool(crosses(r * 0.999, variance, tau2, alpha))


@pytest.mark.parametrize(
    ("variance", "tau2", "alpha"), [(1e-6, 1e-4, 0.025), (2.0, 0.5, 0.1)]
)
def test_two_sided_radius_matches_robbins_closed_form(
    variance: float, tau2: float, alpha: float
) -> None:
    # Two-sided mixture: ½ ln(V/(V+τ²)) + τ² S² / (2 V (V+τ²)) = ln(1/α) at the radius.
    r = two_sided_radius(variance, tau2, alpha)
    value = 0.5 * math.log(variance / (variance + tau2)) + tau2 * r * r / (
        2 * variance * (variance + tau2)
    )
    assert value == pytest.approx(math.log(1 / alpha))
    assert mixture_radius(variance, tau2, alpha) <= r


def test_mixing_variance_minimises_the_sample_needed_for_the_mde() -> None:
    mde, alpha = 0.01, 0.025

    def crossing_variance(tau2: float) -> float:
        # Largest V (earliest time) at which an effect of mde crosses the boundary.
        lo, hi = 1e-12, 1.0
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            lo, hi = (
                (mid, hi) if two_sided_radius(mid, tau2, alpha) <= mde else (lo, mid)
            )
        return lo

    best = mixing_variance(mde, alpha)
    for factor in (0.5, 0.8, 1.25, 2.0):
        assert crossing_variance(best) >= crossing_variance(best * factor)
    assert math.sqrt(best) / mde == pytest.approx(0.9524, abs=1e-3)


@pytest.mark.parametrize(("p1", "minutes"), [(0.015, 27.4), (0.02, 7.7), (0.05, 0.73)])
def test_wald_bound_matches_the_issue(p1: float, minutes: float) -> None:
    assert wald_sample_size(0.01, p1, 0.05) / 100 == pytest.approx(minutes, abs=0.05)


@pytest.mark.parametrize(("mde", "alpha"), [(0.0, 0.05), (0.01, 0.0), (0.01, 1.0)])
def test_mixing_variance_rejects_bad_inputs(mde: float, alpha: float) -> None:
    with pytest.raises(StatsError):
        mixing_variance(mde, alpha)


def test_wald_bound_rejects_rates_outside_zero_one() -> None:
    with pytest.raises(StatsError):
        wald_sample_size(0.0, 0.5, 0.05)


def test_mixture_is_a_martingale_under_the_null() -> None:
    # E[Λ] = 1 at any fixed information when S ~ N(0, V): Monte Carlo check.
    rng = np.random.default_rng(3)
    v, tau2 = 0.5, 1.0
    s = rng.normal(0.0, math.sqrt(v), 400_000)
    mean = float(np.exp(log_mixture_ratio(s, v, tau2)).mean())
    assert mean == pytest.approx(1.0, abs=0.02)
