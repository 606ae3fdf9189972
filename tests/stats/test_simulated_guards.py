"""Small seeded simulations: each of issue 17's fixes, measured as the benchmark does.

300 stages of 120 minutes each (bench/stats_sim.py runs 4,000); bounds allow two
binomial standard errors, so a broken guard fails them (its figures are in the
comments, from the benchmark) while a correct one passes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from flagramp.sim import Regression, RegressionKind, Scenario, minute_aggregate
from flagramp.stats import (
    ArmMoments,
    Comparison,
    Side,
    bucket_moments,
    mixing_variance,
    side_log_ratio,
)

STAGES, MINUTES, ALPHA, BETA, MDE = 300, 120, 0.025, 0.1, 0.01
Check = Callable[[ArmMoments, ArmMoments], npt.NDArray[np.bool_]]

pytestmark = pytest.mark.slow


def _bound(rate: float) -> float:
    return rate + 2 * math.sqrt(rate * (1 - rate) / STAGES)


def _harmful(t: ArmMoments, c: ArmMoments) -> npt.NDArray[np.bool_]:
    lr = side_log_ratio(
        Side.LOWER, 0.0, t, c, tau2=mixing_variance(MDE, ALPHA),
        comparison=Comparison.CONTROL, sign=1.0,
    )  # fmt: skip
    return lr >= math.log(1 / ALPHA)


def _healthy(t: ArmMoments, c: ArmMoments) -> npt.NDArray[np.bool_]:
    lr = side_log_ratio(
        Side.UPPER, MDE, t, c, tau2=mixing_variance(MDE, BETA),
        comparison=Comparison.CONTROL, sign=1.0,
    )  # fmt: skip
    return lr >= math.log(1 / BETA)


def _independent(arm: ArmMoments) -> ArmMoments:
    one = np.ones_like(arm.design_effect)
    return dataclasses.replace(arm, design_effect=one, robust_design_effect=one)


def _share_stopped(
    scenario: Scenario, checks: dict[str, Check], *, seed: int, storm: bool = False
) -> dict[str, float]:
    """The share of stages each check fired in at some minute."""
    stopped = {name: np.zeros(STAGES, dtype=bool) for name in checks}
    errors = np.zeros((STAGES, 2, scenario.buckets))
    requests = np.zeros((STAGES, 2, scenario.buckets))
    for minute in range(MINUTES):
        agg = minute_aggregate(seed, scenario, minute, STAGES)
        errors += agg.errors
        requests += agg.requests
        if storm and minute == 10:
            # One treatment user retries one failing request 50 times.
            errors[:, 1, 0] += 50
            requests[:, 1, 0] += 50
        c = bucket_moments(errors[:, 0], requests[:, 0])
        t = bucket_moments(errors[:, 1], requests[:, 1])
        for name, check in checks.items():
            stopped[name] |= check(t, c)
    return {name: float(s.mean()) for name, s in stopped.items()}


def test_user_level_variance_holds_alpha_where_per_request_variance_does_not() -> None:
    # ICC 0.2, sessions of 1–20 requests: design effect ≈ 3.5.
    got = _share_stopped(
        Scenario(icc=0.2),
        {
            "user": _harmful,
            "request": lambda t, c: _harmful(_independent(t), _independent(c)),
        },
        seed=99,
    )
    assert got["user"] <= _bound(ALPHA)
    assert got["request"] > 0.1


def test_alpha_holds_at_half_treatment_with_clustered_users() -> None:
    # Item 2: issue 13's guard stopped 7-8.5 % of these stages against 2.5 %.
    got = _share_stopped(
        Scenario(treatment_share=0.5, icc=0.2), {"g": _harmful}, seed=5
    )
    assert got["g"] <= _bound(ALPHA)


def test_healthy_is_rare_when_the_harm_is_margin_plus_mde() -> None:
    # Item 1: issue 13's mirrored upper bound said healthy in 67 % of these stages.
    harm = Scenario().with_regressions(Regression(RegressionKind.RATE, MDE))
    got = _share_stopped(harm, {"healthy": _healthy}, seed=6)
    assert got["healthy"] <= _bound(BETA)


def test_a_retry_storm_neither_rolls_back_nor_blinds_the_guard() -> None:
    # Item 3: with the storm, issue 13's guard caught a 1.5 % regression in 40 %.
    null = _share_stopped(Scenario(), {"g": _harmful}, seed=7, storm=True)
    assert null["g"] <= _bound(ALPHA)
    regression = Scenario().with_regressions(Regression(RegressionKind.RATE, 0.005))
    caught = _share_stopped(regression, {"g": _harmful}, seed=8, storm=True)
    assert caught["g"] >= 0.85
