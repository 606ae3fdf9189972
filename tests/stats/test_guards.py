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
    Side,
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


def test_guard_keeps_its_positional_fields_and_defaults_beta() -> None:
    # The plan compiler builds guards positionally; new fields come last.
    g = RatioGuard("e", Comparison.CONTROL, 0.005, 0.01, 0.025, Severity.LOW)
    assert (g.limit, g.mde, g.alpha, g.severity, g.beta) == (
        0.005, 0.01, 0.025, Severity.LOW, 0.1,
    )  # fmt: skip


def test_issue_example_is_not_healthy_and_its_upper_bound_is_honest() -> None:
    # Issue 17: 55 errors in 1,000 against a 5 % limit, mde 1 pt. Issue 13's mirrored
    # bound said healthy with an upper bound of 0.058; at the 2.5 % level it is 0.087.
    g = RatioGuard("a", Comparison.ABSOLUTE, 0.05, 0.01, 0.025)
    d = evaluate_ratio_guard(g, arm_from_totals(55, 1000))
    assert d.outcome is GuardOutcome.INCONCLUSIVE
    assert d.evidence.upper > 0.075  # at the default β = 0.1
    strict = RatioGuard("a", Comparison.ABSOLUTE, 0.05, 0.01, 0.025, beta=0.025)
    e = evaluate_ratio_guard(strict, arm_from_totals(55, 1000)).evidence
    assert e.upper == pytest.approx(0.087, abs=0.001)
    assert e.lower == pytest.approx(0.036, abs=0.001)


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
    s, v = excess_and_variance(
        Side.LOWER, 0.0, t.moments(), c.moments(), comparison=Comparison.CONTROL,
        sign=1.0,
    )  # fmt: skip
    assert d.evidence.statistic == pytest.approx(float(log_mixture_ratio(s, v, g.tau2)))
    assert d.evidence.statistic >= d.evidence.threshold == pytest.approx(math.log(40))
    assert d.evidence.lower > 0.0
    assert d.severity is Severity.HIGH and d.is_harmful
    assert "variance at the null boundary" in d.evidence.test
    assert d.evidence.beta == 0.1
    assert d.evidence.healthy_threshold == pytest.approx(math.log(10))


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


def test_absolute_limit_borrows_the_reference_design_effect_only() -> None:
    g = _guard(Comparison.ABSOLUTE, limit=0.05, mde=0.01)
    t = arm_from_totals(40, 1000)
    alone = evaluate_ratio_guard(g, t).evidence
    clustered = arm_from_totals(5000, 100000, overdispersion=4.0)
    borrowed = evaluate_ratio_guard(g, t, clustered).evidence
    # Same estimate, the reference's rate (5 %) plays no part, the bounds widen.
    assert borrowed.estimate == alone.estimate and borrowed.reference is None
    assert borrowed.upper - borrowed.lower > 1.5 * (alone.upper - alone.lower)


def test_baseline_comparison_treats_baseline_as_known() -> None:
    g = _guard(Comparison.BASELINE, limit=0.005)
    pre = baseline(0.01, 1e-8, 100000)
    assert evaluate_ratio_guard(g, arm_from_totals(250, 10000), pre).is_harmful
    healthy = evaluate_ratio_guard(g, arm_from_totals(100, 10000), pre)
    assert healthy.outcome is GuardOutcome.HEALTHY
    assert healthy.evidence.reference == 0.01


@pytest.mark.parametrize("comparison", [Comparison.CONTROL, Comparison.BASELINE])
def test_comparison_without_reference_arm_raises(comparison: Comparison) -> None:
    with pytest.raises(StatsError):
        evaluate_ratio_guard(_guard(comparison), arm_from_totals(10, 1000))


def test_previous_decision_of_another_guard_raises() -> None:
    t, c = arm_from_totals(10, 1000), arm_from_totals(190, 19000)
    other = evaluate_ratio_guard(
        RatioGuard("other", Comparison.CONTROL, 0, 0.01, 0.025), t, c
    )
    with pytest.raises(StatsError, match="other"):
        evaluate_ratio_guard(_guard(), t, c, other)


def _sums(pairs: list[tuple[float, float]], buckets: int = 256) -> BucketSums:
    num, den = np.zeros(buckets), np.zeros(buckets)
    for k, (y, x) in enumerate(pairs):
        num[k], den[k] = y, x
    return BucketSums(num, den)


@pytest.mark.parametrize(
    ("treatment", "control", "note"),
    [
        ([], [(5, 500), (3, 400)], "no treatment data yet"),
        ([(1, 20)], [(5, 500), (3, 400)], "fewer than two user buckets in treatment"),
        ([(1, 20), (0, 30)], [], "no control data yet"),
    ],
)
def test_small_data_is_an_honest_inconclusive(
    treatment: list[tuple[float, float]],
    control: list[tuple[float, float]],
    note: str,
) -> None:
    d = evaluate_ratio_guard(
        _guard(), arm_from_buckets(_sums(treatment)), arm_from_buckets(_sums(control))
    )
    assert d.outcome is GuardOutcome.INCONCLUSIVE
    assert any(note in n for n in d.evidence.notes)


def test_control_with_one_user_bucket_still_decides() -> None:
    # Issue 17: fewer than two active control buckets raised StatsError.
    treatment = arm_from_buckets(_sums([(12, 20)] * 40))  # 60 % errors
    control = arm_from_buckets(_sums([(2, 200)]))
    d = evaluate_ratio_guard(_guard(), treatment, control)
    assert d.is_harmful
    assert any(
        "fewer than two user buckets in the reference" in n for n in d.evidence.notes
    )


def _csat(values: list[float], buckets: int = 256) -> ArmEstimate:
    # One rating per user, users spread over buckets in turn.
    num, den = np.zeros(buckets), np.zeros(buckets)
    for u, v in enumerate(values):
        num[u % buckets] += v
        den[u % buckets] += 1
    return arm_from_buckets(BucketSums(num, den))


def _csat_guard(comparison: Comparison = Comparison.CONTROL) -> RatioGuard:
    return RatioGuard(
        "csat", comparison, 0.2, 0.3, 0.025,
        direction=Direction.LOWER_IS_WORSE, proportion=False,
    )  # fmt: skip


def test_constant_treatment_far_below_control_is_caught() -> None:
    # Issue 17: 30 users all rating CSAT 1 against a control mean of 4.5 never fired,
    # because the treatment's variance was zero.
    rng = np.random.default_rng(7)
    control = _csat(list(rng.choice([3.0, 4.0, 5.0, 5.0, 5.5], 3000)))
    treatment = _csat([1.0] * 30)
    assert treatment.variance == 0
    assert evaluate_ratio_guard(_csat_guard(), treatment, control).is_harmful


def test_constant_treatment_at_the_control_mean_is_healthy() -> None:
    rng = np.random.default_rng(8)
    control = _csat(list(rng.choice([4.0, 5.0], 3000)))
    same = evaluate_ratio_guard(_csat_guard(), _csat([control.estimate] * 30), control)
    assert same.is_healthy  # judged with the control's spread: H = 0 < 0.2 + 0.3
    worse = evaluate_ratio_guard(_csat_guard(), _csat([4.2] * 30), control)
    assert not worse.is_healthy


def test_mean_without_any_spread_is_inconclusive() -> None:
    d = evaluate_ratio_guard(_csat_guard(Comparison.ABSOLUTE), _csat([4.0] * 50), None)
    assert d.outcome is GuardOutcome.INCONCLUSIVE
    assert any("no spread" in n for n in d.evidence.notes)


def test_no_treatment_data_is_inconclusive() -> None:
    d = evaluate_ratio_guard(_guard(), arm_from_totals(0, 0), arm_from_totals(1, 100))
    assert d.outcome is GuardOutcome.INCONCLUSIVE
    assert "no treatment data yet" in d.evidence.notes


def test_external_sources_say_variance_is_per_request() -> None:
    t = arm_from_totals(10, 1000, overdispersion=1.8)
    d = evaluate_ratio_guard(_guard(), t, arm_from_totals(190, 19000))
    assert any("overdispersion 1.8" in n for n in d.evidence.notes)


def _storm_arms(regression: float) -> tuple[ArmEstimate, ArmEstimate]:
    # 40 requests per treatment bucket at 1 % (+ regression), one user retrying a
    # failing request 50 times in bucket 0; control 760 per bucket at 1 %.
    rng = np.random.default_rng(1)
    den_t = np.full(256, 40.0)
    num_t = rng.binomial(40, 0.01 + regression, 256).astype(float)
    num_t[0] += 50
    den_t[0] += 50
    den_c = np.full(256, 760.0)
    num_c = rng.binomial(760, 0.01, 256).astype(float)
    return (
        arm_from_buckets(BucketSums(num_t, den_t)),
        arm_from_buckets(BucketSums(num_c, den_c)),
    )


def test_one_heavy_user_in_treatment_does_not_trigger() -> None:
    treatment, control = _storm_arms(0.0)
    d = evaluate_ratio_guard(_guard(), treatment, control)
    assert not d.is_harmful
    assert any("one user bucket carries" in n for n in d.evidence.notes)
    request_level = ArmEstimate(treatment.estimate, treatment.variance, treatment.size)
    assert evaluate_ratio_guard(_guard(), request_level, control).is_harmful


def test_one_heavy_user_does_not_hide_a_regression() -> None:
    # Issue 17: the storm's design effect blinded the guard for the rest of the stage.
    treatment, control = _storm_arms(0.005)  # 1.5 % against 1 %
    assert evaluate_ratio_guard(_guard(), treatment, control).is_harmful
    honest = ArmEstimate(
        treatment.estimate, treatment.variance, treatment.size,
        treatment.design_effect,
    )  # fmt: skip
    assert not evaluate_ratio_guard(_guard(), honest, control).is_harmful


def test_healthy_is_each_looks_own_and_harmful_sticks() -> None:
    g = _guard()
    c = arm_from_totals(5700, 570000)
    healthy = evaluate_ratio_guard(g, arm_from_totals(300, 30000), c)
    assert healthy.is_healthy
    later = evaluate_ratio_guard(g, arm_from_totals(4, 300), c, healthy)
    assert later.outcome is GuardOutcome.INCONCLUSIVE
    harmful = evaluate_ratio_guard(g, arm_from_totals(60, 3000), c)
    again = evaluate_ratio_guard(g, arm_from_totals(300, 30000), c, harmful)
    assert again.is_harmful
    assert "harm was established at an earlier look" in again.evidence.notes


def test_guard_rejects_bad_parameters() -> None:
    for bad in ({"alpha": 0.0}, {"beta": 1.0}, {"mde": 0.0}, {"limit": math.nan}):
        with pytest.raises(StatsError):
            _guard(Comparison.CONTROL, **bad)


def _arm_of(pairs: list[tuple[int, int]], proportion: bool) -> ArmEstimate:
    num, den = np.zeros(8), np.zeros(8)
    for k, (y, x) in enumerate(pairs):
        num[k] = min(y, x) if proportion else y - 3
        den[k] = x
    return arm_from_buckets(BucketSums(num, den))


_pairs = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    treatment=_pairs,
    control=_pairs,
    comparison=st.sampled_from(list(Comparison)),
    direction=st.sampled_from(list(Direction)),
    proportion=st.booleans(),
    limit=st.sampled_from([0.0, 0.01, 0.5]),
)
def test_degenerate_data_never_raises(
    treatment: list[tuple[int, int]],
    control: list[tuple[int, int]],
    comparison: Comparison,
    direction: Direction,
    proportion: bool,
    limit: float,
) -> None:
    # Zero, one or a few buckets, all-failing or never-failing arms, constant means.
    g = _guard(comparison, limit=limit, direction=direction, proportion=proportion)
    reference = _arm_of(control, proportion)
    if comparison is Comparison.BASELINE and reference.has_data:
        reference = baseline(reference.estimate, reference.variance, reference.size)
    d = evaluate_ratio_guard(g, _arm_of(treatment, proportion), reference)
    assert d.outcome in set(GuardOutcome)
    assert d.evidence.lower <= d.evidence.upper or d.is_harmful


@settings(max_examples=40, deadline=None)
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
