"""Sample-ratio mismatch against scipy, one-off and always-valid."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chisquare

from flagramp.core.errors import StatsError
from flagramp.stats import GuardOutcome, check_sample_ratio, srm_statistic
from flagramp.stats.srm import srm_log_ratio


@pytest.mark.parametrize(
    ("counts", "shares"),
    [
        ([9500, 500], [0.95, 0.05]),
        ([9400, 600], [0.95, 0.05]),
        ([120, 80], [0.5, 0.5]),
        ([300, 350, 350], [0.3, 0.35, 0.35]),
    ],
)
def test_srm_statistic_equals_scipy_chisquare(
    counts: list[int], shares: list[float]
) -> None:
    expected = chisquare(counts, np.sum(counts) * np.asarray(shares))
    stat, p = srm_statistic(counts, shares)
    assert stat == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue)


@pytest.mark.parametrize(
    ("counts", "sequential", "outcome"),
    [
        ([9500, 500], True, GuardOutcome.HEALTHY),
        ([9300, 700], True, GuardOutcome.HARMFUL),
        ([9300, 700], False, GuardOutcome.HARMFUL),
        ([9440, 560], False, GuardOutcome.HEALTHY),  # p ≈ 0.0059
    ],
)
def test_check_sample_ratio_outcomes(
    counts: list[int], sequential: bool, outcome: GuardOutcome
) -> None:
    d = check_sample_ratio(counts, [0.95, 0.05], sequential=sequential)
    assert d.outcome is outcome
    assert d.evidence.estimate == pytest.approx(counts[1] / sum(counts))


def test_sequential_srm_is_stricter_than_a_single_look() -> None:
    # p < 0.001 at this look, yet not enough for the always-valid test.
    counts = [9428, 572]
    assert srm_statistic(counts, [0.95, 0.05])[1] < 0.001
    assert not check_sample_ratio(counts, [0.95, 0.05]).is_harmful


def test_srm_log_ratio_closed_form() -> None:
    v = 0.05 * 0.95 / 1000
    from flagramp.stats import mixing_variance

    tau2 = mixing_variance(0.005, 0.001)
    s = 60 / 1000 - 0.05
    expected = 0.5 * math.log(v / (v + tau2)) + tau2 * s * s / (2 * v * (v + tau2))
    assert srm_log_ratio(60, 1000, 0.05) == pytest.approx(expected)
    assert srm_log_ratio(0, 0, 0.05) == 0.0


@pytest.mark.parametrize(
    ("counts", "shares"), [([1], [1.0]), ([1, 2], [0.5, 0.6]), ([1, 2], [0.0, 1.0])]
)
def test_srm_rejects_bad_shares(counts: list[int], shares: list[float]) -> None:
    with pytest.raises(StatsError):
        srm_statistic(counts, shares)


def test_srm_without_users_is_healthy() -> None:
    assert srm_statistic([0, 0], [0.5, 0.5]) == (0.0, 1.0)
