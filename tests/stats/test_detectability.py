"""Detectability: the smallest harm a stage catches in its hold, and the simulator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flagramp.core.errors import StatsError
from flagramp.sim import Regression, RegressionKind, Scenario, minute_aggregate
from flagramp.stats import (
    Comparison,
    Direction,
    Side,
    StageTraffic,
    bucket_moments,
    detectable_effect,
    detection_probability,
    expected_detection_minutes,
    mixing_variance,
    side_log_ratio,
)

BENCH = StageTraffic(2000, 0.05, 0.01, 0.025, mde=0.01)


def test_the_benchmark_stage_catches_half_a_point_within_two_hours() -> None:
    assert detectable_effect(BENCH, 120) == pytest.approx(0.0042, abs=0.0002)
    assert expected_detection_minutes(BENCH, 0.005) == pytest.approx(34, abs=2)
    assert expected_detection_minutes(BENCH, 0.01) == pytest.approx(10, abs=1)


def test_seed_003_canary_cannot_see_a_point_in_a_day() -> None:
    # 1 % of about 60 requests/minute: under a thousand treatment requests a day.
    canary = StageTraffic(60, 0.01, 0.01, 0.025, mde=0.01)
    assert detectable_effect(canary, 1440) > 0.01
    assert detection_probability(canary, 0.01, 1440) < 0.9
    assert expected_detection_minutes(canary, 0.01) > 600


@pytest.mark.parametrize(
    ("changed", "smaller"),
    [
        ({"requests_per_minute": 8000}, True),
        ({"share": 0.25}, True),
        ({"design_effect": 3.0}, False),
        ({"alpha": 0.001}, False),
    ],
)
def test_detectable_effect_moves_the_right_way(
    changed: dict[str, float], smaller: bool
) -> None:
    args: dict[str, object] = {
        "requests_per_minute": 2000, "share": 0.05, "base_rate": 0.01,
        "alpha": 0.025, "mde": 0.01,
    }  # fmt: skip
    base = detectable_effect(BENCH, 120)
    args.update(changed)
    other = detectable_effect(StageTraffic(**args), 120)  # type: ignore[arg-type]
    assert (other < base) is smaller


@pytest.mark.parametrize(
    "traffic",
    [
        StageTraffic(2000, 0.05, 0.05, 0.025, comparison=Comparison.ABSOLUTE),
        StageTraffic(
            2000,
            0.05,
            0.01,
            0.025,
            comparison=Comparison.BASELINE,
            baseline_variance=1e-7,
        ),
        StageTraffic(2000, 0.95, 0.01, 0.025),  # a 5 % holdback at 100 %
        StageTraffic(2000, 0.05, 0.95, 0.025, direction=Direction.LOWER_IS_WORSE),
        StageTraffic(
            200, 0.05, 4.5, 0.025, unit_variance=1.0, direction=Direction.LOWER_IS_WORSE
        ),
    ],
)
def test_every_comparison_has_a_finite_answer_that_shrinks_with_time(
    traffic: StageTraffic,
) -> None:
    hour, day = detectable_effect(traffic, 60), detectable_effect(traffic, 1440)
    assert 0 < day < hour < math.inf
    assert detection_probability(traffic, hour, 60) >= 0.9 - 1e-3
    assert expected_detection_minutes(traffic, hour) <= 60


def test_effects_that_cannot_happen() -> None:
    assert detection_probability(BENCH, 2.0, 120) == 0.0
    assert expected_detection_minutes(BENCH, 0.0) == math.inf
    tiny = StageTraffic(1, 0.01, 0.001, 0.025, mde=0.001)
    assert detectable_effect(tiny, 10) == math.inf


@pytest.mark.parametrize(
    "bad",
    [
        {"requests_per_minute": 0},
        {"share": 0},
        {"alpha": 1},
        {"base_rate": 1.5},
        {"design_effect": 0.5},
        {"share": 1.0, "control_share": 0.0},
        {"mde": -1.0},
    ],
)
def test_bad_traffic_raises(bad: dict[str, float]) -> None:
    args: dict[str, object] = {
        "requests_per_minute": 2000, "share": 0.05, "base_rate": 0.01,
        "alpha": 0.025,
    }  # fmt: skip
    args.update(bad)
    with pytest.raises(StatsError):
        StageTraffic(**args)  # type: ignore[arg-type]


@pytest.mark.slow
def test_predictions_match_the_simulated_guard() -> None:
    # The guard on simulated traffic (independent users, 1.5 % against 1 %): the
    # predicted median and two-hour detection share against the simulated ones.
    stages, minutes = 300, 120
    scenario = Scenario().with_regressions(Regression(RegressionKind.RATE, 0.005))
    errors = np.zeros((stages, 2, scenario.buckets))
    requests = np.zeros((stages, 2, scenario.buckets))
    first = np.full(stages, np.inf)
    tau2 = mixing_variance(0.01, 0.025)
    for minute in range(minutes):
        agg = minute_aggregate(11, scenario, minute, stages)
        errors += agg.errors
        requests += agg.requests
        lr = side_log_ratio(
            Side.LOWER, 0.0, bucket_moments(errors[:, 1], requests[:, 1]),
            bucket_moments(errors[:, 0], requests[:, 0]), tau2=tau2,
            comparison=Comparison.CONTROL, sign=1.0,
        )  # fmt: skip
        first = np.where(np.isinf(first) & (lr >= math.log(40)), minute + 1, first)
    median = float(np.quantile(first, 0.5, method="inverted_cdf"))
    assert expected_detection_minutes(BENCH, 0.005) == pytest.approx(median, rel=0.2)
    caught = float(np.isfinite(first).mean())
    assert detection_probability(BENCH, 0.005, minutes) == pytest.approx(
        caught, abs=0.05
    )
