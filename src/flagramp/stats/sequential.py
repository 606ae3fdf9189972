"""Always-valid one-sided tests: the normal-mixture sequential probability ratio test.

For an estimate D̂ of an effect D with (approximately normal) variance V, the
one-sided mixture likelihood ratio of "D = margin + θ, θ ~ half-normal(τ²)" against
"D = margin" is

    Λ = 2·sqrt(V / (V + τ²)) · exp(τ² S² / (2 V (V + τ²))) · Φ(S τ / sqrt(V (V + τ²)))

with S = D̂ − margin (Johari et al. 2017; Howard et al. 2021, normal mixture). Under
"D ≤ margin" it is a nonnegative supermartingale in information time, so Ville's
inequality gives P(Λ ever ≥ 1/α) ≤ α however often one looks: checking every minute
does not inflate false rollbacks. All functions take numpy arrays so the benchmark can
evaluate thousands of stages at once.

Tuning: the mixture is tightest for effects near τ. `mixing_variance(mde, alpha)`
picks τ² that minimises the sample needed to detect an effect of exactly `mde`, the
smallest effect the plan says it must catch (τ ≈ 0.95·mde at α = 0.025).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr

from flagramp.core.errors import StatsError

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | FloatArray

_LOG2 = math.log(2.0)


def log_mixture_ratio(
    excess: ArrayLike, variance: ArrayLike, tau2: float
) -> FloatArray:
    """Log of the one-sided normal-mixture likelihood ratio Λ (see module docstring).

    `excess` is S = estimate − margin, `variance` its variance V > 0. Increasing in S.
    """
    s = np.asarray(excess, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    total = v + tau2
    return np.asarray(
        0.5 * np.log(v / total)
        + tau2 * s * s / (2.0 * v * total)
        + _LOG2
        + log_ndtr(s * np.sqrt(tau2 / (v * total))),
        dtype=np.float64,
    )


def crosses(
    excess: ArrayLike, variance: ArrayLike, tau2: float, alpha: float
) -> npt.NDArray[np.bool_]:
    """Whether Λ ≥ 1/α: the evidence that the effect exceeds the margin suffices."""
    return np.asarray(
        log_mixture_ratio(excess, variance, tau2) >= math.log(1.0 / alpha)
    )


def mixture_radius(variance: float, tau2: float, alpha: float) -> float:
    """The S at which Λ(S, V) = 1/α: D̂ − radius is the always-valid lower bound.

    Λ is continuous and increasing in S, so bisection on a bracket finds it.
    """
    if not variance > 0:
        return math.inf
    target = math.log(1.0 / alpha)
    sd = math.sqrt(variance)
    lo, hi = 0.0, sd
    while float(log_mixture_ratio(hi, variance, tau2)) < target:
        lo, hi = hi, hi * 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if float(log_mixture_ratio(mid, variance, tau2)) < target:
            lo = mid
        else:
            hi = mid
    return hi


def two_sided_radius(variance: float, tau2: float, alpha: float) -> float:
    """Closed-form radius of the symmetric normal-mixture confidence sequence.

    sqrt(V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V))), Robbins' boundary; the
    one-sided radius is never larger (its mixture puts all mass on one side).
    """
    return math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (2.0 * math.log(1.0 / alpha) + math.log((variance + tau2) / variance))
    )


# Rationale: guards call this on every bisection step (hundreds of times per
# evaluation) with the same two numbers; the fixed point below is 100 rounds
# (about 10 % of a stage's evaluation, bench/RESULTS.md "evaluate_stage").
@functools.lru_cache(maxsize=1024)
def mixing_variance(mde: float, alpha: float) -> float:
    """τ² that detects an effect of size `mde` soonest, at level `alpha`.

    Rationale: with u = τ²/V the (two-sided) boundary is S² = V (1 + 1/u)(2L + ln(1+u)),
    L = ln(1/α); for a fixed effect it is smallest when u = 2L + ln(1 + u), and the
    effect then crosses at V* = mde² / ((1 + 1/u)(2L + ln(1 + u))), so τ² = u·V*.
    """
    if not mde > 0 or not 0 < alpha < 1:
        raise StatsError("mixing variance needs mde > 0 and 0 < alpha < 1")
    two_l = 2.0 * math.log(1.0 / alpha)
    u = two_l
    for _ in range(100):
        u = two_l + math.log1p(u)
    crossing_variance = mde * mde / ((1.0 + 1.0 / u) * (two_l + math.log1p(u)))
    return u * crossing_variance


def wald_sample_size(p0: float, p1: float, alpha: float) -> float:
    """Wald's SPRT bound ln(1/α) / KL(p1 ‖ p0): Bernoulli samples to detect p1 vs p0.

    The benchmark prints it as the yardstick for detection times.
    """
    if not (0 < p0 < 1 and 0 < p1 < 1):
        raise StatsError("the Wald bound needs rates strictly between 0 and 1")
    kl = p1 * math.log(p1 / p0) + (1 - p1) * math.log((1 - p1) / (1 - p0))
    return math.log(1.0 / alpha) / kl
