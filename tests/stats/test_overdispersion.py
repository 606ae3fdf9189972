"""Overdispersion from pre-run intervals: known answers, floor, evidence note."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flagramp.core.errors import StatsError
from flagramp.sim.aggregate import minute_aggregate
from flagramp.sim.scenario import Scenario
from flagramp.stats.overdispersion import (
    Family,
    arm_from_source,
    estimate_overdispersion,
)


def test_pearson_statistic_matches_the_closed_form() -> None:
    y = np.array([3.0, 10.0, 2.0, 9.0])
    n = np.array([100.0, 100.0, 100.0, 100.0])
    p = y.sum() / n.sum()  # 0.06
    expected = np.sum((y - p * n) ** 2 / (n * p * (1 - p))) / 3
    od = estimate_overdispersion(y, n)
    assert od.pearson == pytest.approx(expected)
    assert od.factor == pytest.approx(expected)
    assert od.intervals == 4


def test_poisson_family_uses_the_rate_per_unit() -> None:
    y, n = [1.0, 9.0, 5.0], [1.0, 1.0, 1.0]
    od = estimate_overdispersion(y, n, Family.POISSON)
    assert od.pearson == pytest.approx((16 + 16 + 0) / 5 / 2)


@pytest.mark.parametrize(
    ("events", "trials", "factor", "intervals"),
    [
        ([5.0, 5.0, 5.0], [100.0, 100.0, 100.0], 1.0, 3),  # under-dispersed: floor
        ([0.0, 0.0], [10.0, 10.0], 1.0, 2),  # no events: no spread to measure
        ([1.0], [10.0], 1.0, 1),  # one interval
        ([0.0, 1.0, 2.0], [0.0, 10.0, 10.0], 1.0, 2),  # empty intervals skipped
    ],
)
def test_factor_is_at_least_one(
    events: list[float], trials: list[float], factor: float, intervals: int
) -> None:
    od = estimate_overdispersion(events, trials)
    assert od.factor == factor
    assert od.intervals == intervals


@pytest.mark.parametrize(
    ("events", "trials", "message"),
    [
        ([1.0], [1.0, 2.0], "one value per interval"),
        ([-1.0], [2.0], ">= 0"),
        ([3.0], [2.0], "more events than trials"),
        ([math.nan], [2.0], "finite"),
    ],
)
def test_bad_totals_are_refused(
    events: list[float], trials: list[float], message: str
) -> None:
    with pytest.raises(StatsError, match=message):
        estimate_overdispersion(events, trials)


@pytest.mark.parametrize(("icc", "low", "high"), [(0.0, 0.7, 1.4), (0.2, 2.0, 6.0)])
def test_clustered_traffic_shows_overdispersion(
    icc: float, low: float, high: float
) -> None:
    scenario = Scenario(icc=icc)
    aggs = [minute_aggregate(11, scenario, m) for m in range(120)]
    errors = [a.errors[0, 0].sum() for a in aggs]
    requests = [a.requests[0, 0].sum() for a in aggs]
    od = estimate_overdispersion(errors, requests)
    assert low <= od.pearson <= high


def test_the_arm_and_the_note_say_the_variance_is_per_request_and_inflated() -> None:
    od = estimate_overdispersion([1.0, 9.0] * 10, [100.0, 100.0] * 10)
    arm = arm_from_source(20.0, 1000.0, od)
    assert not arm.per_user
    assert arm.design_effect == pytest.approx(od.factor)
    assert arm.variance == pytest.approx(od.factor * 0.02 * 0.98 / 1000)
    assert od.is_reliable
    assert "no per-user data" in od.note
    assert f"x {od.factor:.2f}" in od.note
    assert "20 pre-run intervals" in od.note
    rough = estimate_overdispersion([1.0, 3.0], [10.0, 10.0])
    assert not rough.is_reliable
    assert "rough" in rough.note
