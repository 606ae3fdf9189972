"""Ratio guards: known answers, directions, evidence, and no harmful → healthy flips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity
from flagramp.stats import (
    ArmEstimate,
    BucketSums,
    Comparison,
    Direction,
    GuardOutcome,
    RatioGuard,
    arm_from_buckets,
    arm_from_totals,
    baseline,
    evaluate_ratio_guard,
    excess_and_variance,
    log_mixture_ratio,
)


def _guard(comparison: Comparison = Comparison.CONTROL, **kw: object) -> RatioGuard:
    args: dict[str, object] = {"limit": 0.0, "mde": 0.01, "alpha": 0.025}
    args.update(kw)
    return RatioGuard("error rate", comparison, **args)  # type: ignore[arg-type]


def test_excess_and_variance_uses_null_variance_and_continuity() -> None:
    s, v = excess_and_variance(
        0.01, 0.01, 1000.0, 9.9e-5, 1e-7, 2.0, margin=0.002, sign=1.0
    )
    p0 = 0.012
    assert float(s) == pytest.approx(0.01 - 0.002 - 0.5 * 2.0 / 1000)
    assert float(v) == pytest.approx(2.0 * p0 * (1 - p0) / 1000 + 1e-7)


def test_excess_and_variance_plug_in_for_means() -> None:
    s, v = excess_and_variance(
        0.3, 4.0, 100.0, 0.02, 0.01, 1.0, margin=0.1, sign=1.0, proportion=False
    )
    assert float(s) == pytest.approx(0.2) and float(v) == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("treatment", "control", "outcome"),
    [
        ((60, 3000), (570, 57000), GuardOutcome.HARMFUL),  # 2 % vs 1 %
        ((300, 30000), (5700, 570000), GuardOutcome.HEALTHY),  # equal, lots of data
        ((1, 100), (19, 1900), GuardOutcome.INCONCLUSIVE),  # one minute of data
    ],
)
def test_control_comparison_outcomes(
    treatment: tuple[int, int], control: tuple[int, int], outcome: GuardOutcome
) -> None:
    d = evaluate_ratio_guard(
        _guard(), arm_from_totals(*treatment), arm_from_totals(*control)
    )
    assert d.outcome is outcome
    assert d.evidence.lower <= treatment[0] / treatment[1] - control[0] / control[1]
    assert d.evidence.upper >= d.evidence.lower


def test_harmful_matches_statistic_crossing_and_lower_bound() -> None:
    g = _guard()
    t, c = arm_from_totals(60, 3000), arm_from_totals(570, 57000)
    d = evaluate_ratio_guard(g, t, c)
    s, v = excess_and_variance(0.01, 0.01, 3000, t.variance, c.variance, 1.0,
                               margin=0.0, sign=1.0)  # fmt: skip
    assert d.evidence.statistic == pytest.approx(float(log_mixture_ratio(s, v, g.tau2)))
    assert d.evidence.statistic >= d.evidence.threshold == pytest.approx(math.log(40))
    assert d.evidence.lower > 0.0
    assert d.severity is Severity.HIGH and d.is_harmful
    assert "variance under the null" in d.evidence.test


@pytest.mark.parametrize(
    ("direction", "errors", "outcome"),
    [
        (Direction.HIGHER_IS_WORSE, 900, GuardOutcome.HARMFUL),  # 9 % > 5 % limit
        (Direction.HIGHER_IS_WORSE, 100, GuardOutcome.HEALTHY),  # 1 % well below
        (Direction.LOWER_IS_WORSE, 9000, GuardOutcome.HEALTHY),  # 90 % success > 80 %
        (Direction.LOWER_IS_WORSE, 7000, GuardOutcome.HARMFUL),  # 70 % success < 80 %
    ],
)
def test_absolute_limits_in_both_directions(
    direction: Direction, errors: int, outcome: GuardOutcome
) -> None:
    limit = 0.05 if direction is Direction.HIGHER_IS_WORSE else 0.8
    g = _guard(Comparison.ABSOLUTE, limit=limit, direction=direction, mde=0.02)
    d = evaluate_ratio_guard(g, arm_from_totals(errors, 10000))
    assert d.outcome is outcome
    assert d.evidence.lower <= errors / 10000 <= d.evidence.upper
    assert d.evidence.reference is None


def test_baseline_comparison_treats_baseline_as_known() -> None:
    g = _guard(Comparison.BASELINE, limit=0.005)
    pre = baseline(0.01, 1e-8, 100000)
    assert evaluate_ratio_guard(g, arm_from_totals(250, 10000), pre).is_harmful
    healthy = evaluate_ratio_guard(g, arm_from_totals(100, 10000), pre)
    assert healthy.outcome is GuardOutcome.HEALTHY
    assert healthy.evidence.reference == 0.01


def test_comparison_without_reference_raises() -> None:
    with pytest.raises(StatsError):
        evaluate_ratio_guard(_guard(), arm_from_totals(10, 1000))


def test_no_treatment_data_is_inconclusive() -> None:
    d = evaluate_ratio_guard(_guard(), arm_from_totals(0, 0), arm_from_totals(1, 100))
    assert d.outcome is GuardOutcome.INCONCLUSIVE
    assert "no treatment data yet" in d.evidence.notes


def test_external_sources_say_variance_is_per_request() -> None:
    t = arm_from_totals(10, 1000, overdispersion=1.8)
    d = evaluate_ratio_guard(_guard(), t, arm_from_totals(190, 19000))
    assert any("overdispersion 1.8" in n for n in d.evidence.notes)


def test_one_heavy_user_in_treatment_does_not_trigger() -> None:
    # 50 retries by one user in one bucket: user-level variance absorbs them.
    rng = np.random.default_rng(1)
    den_t = np.full(256, 40.0)
    num_t = rng.binomial(40, 0.01, 256).astype(float)
    num_t[0] += 50
    den_t[0] += 50
    den_c = np.full(256, 760.0)
    num_c = rng.binomial(760, 0.01, 256).astype(float)
    treatment = arm_from_buckets(BucketSums(num_t, den_t))
    control = arm_from_buckets(BucketSums(num_c, den_c))
    assert not evaluate_ratio_guard(_guard(), treatment, control).is_harmful
    request_level = ArmEstimate(treatment.estimate, treatment.variance, treatment.size)
    assert evaluate_ratio_guard(_guard(), request_level, control).is_harmful


def test_guard_rejects_bad_alpha() -> None:
    with pytest.raises(StatsError):
        _guard(alpha=0.0)


@settings(max_examples=20, deadline=None)
@given(
    counts=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 400)), min_size=2, max_size=8
    )
)
def test_decisions_never_flip_from_harmful_to_healthy(
    counts: list[tuple[int, int]],
) -> None:
    # Minute by minute on cumulative data, passing the previous decision along.
    g = _guard()
    previous = None
    yt = yc = 0
    harmful_seen = False
    for minute, (et, ec) in enumerate(counts, start=1):
        yt, yc = yt + et, yc + ec
        t = arm_from_totals(min(yt, 100 * minute), 100 * minute)
        c = arm_from_totals(min(yc, 1900 * minute), 1900 * minute)
        d = evaluate_ratio_guard(g, t, c, previous)
        again = evaluate_ratio_guard(g, t, c, previous)
        assert again == d  # same data, same decision
        if harmful_seen:
            assert d.outcome is GuardOutcome.HARMFUL
        harmful_seen = harmful_seen or d.is_harmful
        assert d.evidence.lower <= d.evidence.upper or harmful_seen
        previous = d
