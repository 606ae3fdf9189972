"""A small seeded simulation: the guard's false rollbacks under clustered traffic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flagramp.sim import Scenario, minute_aggregate
from flagramp.stats import (
    design_effect,
    excess_and_variance,
    log_mixture_ratio,
    mixing_variance,
    ratio_moments,
)

STAGES, MINUTES, ALPHA = 300, 120, 0.025


def _false_rollbacks(icc: float, user_level: bool) -> float:
    tau2 = mixing_variance(0.01, ALPHA)
    errors = np.zeros((STAGES, 2, 256))
    requests = np.zeros((STAGES, 2, 256))
    stopped = np.zeros(STAGES, dtype=bool)
    for minute in range(MINUTES):
        agg = minute_aggregate(99, Scenario(icc=icc), minute, STAGES)
        errors += agg.errors
        requests += agg.requests
        r_c, v_c, n_c = ratio_moments(errors[:, 0], requests[:, 0])
        r_t, v_t, n_t = ratio_moments(errors[:, 1], requests[:, 1])
        if user_level:
            deff = np.maximum(
                1.0,
                np.maximum(design_effect(r_t, v_t, n_t), design_effect(r_c, v_c, n_c)),
            )
        else:
            deff, v_c = np.ones(STAGES), r_c * (1 - r_c) / n_c
        s, v = excess_and_variance(r_t - r_c, r_c, n_t, v_t, v_c, deff, margin=0.0,
                                   sign=1.0)  # fmt: skip
        stopped |= log_mixture_ratio(s, v, tau2) >= math.log(1 / ALPHA)
    return float(stopped.mean())


@pytest.mark.slow
def test_user_level_guard_holds_alpha_where_per_request_variance_does_not() -> None:
    # ICC 0.2, sessions of 1–20 requests: design effect ≈ 3.5.
    bound = ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / STAGES)
    assert _false_rollbacks(0.2, user_level=True) <= bound
    assert _false_rollbacks(0.2, user_level=False) > 0.1
