"""The new-error-class rule: k by share, α spending, distinct users."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagramp.core.errors import StatsError
from flagramp.stats import (
    FingerprintTally,
    GuardOutcome,
    NoveltyBudget,
    evaluate_novelty,
    unseen_fingerprints,
    users_needed,
)


@pytest.mark.parametrize(
    ("fingerprints", "share", "k"),
    [(200, 0.05, 3), (201, 0.05, 4), (200, 0.5, 13), (1, 0.5, 6), (300, 0.01, 3)],
)
def test_users_needed_known_values(fingerprints: int, share: float, k: int) -> None:
    assert users_needed(fingerprints, share, 0.025) == k


@given(
    f=st.integers(1, 10_000),
    share=st.floats(0.001, 0.95),
    alpha=st.floats(1e-4, 0.5),
)
def test_users_needed_is_the_smallest_k_holding_alpha(
    f: int, share: float, alpha: float
) -> None:
    k = users_needed(f, share, alpha)
    assert f * share**k <= alpha * (1 + 1e-9)
    assert k == 1 or f * share ** (k - 1) > alpha


def test_users_needed_rejects_bad_inputs() -> None:
    with pytest.raises(StatsError):
        users_needed(10, 1.0, 0.05)


@pytest.mark.parametrize(
    ("counts", "unseen"),
    [({"a": 1, "b": 1, "c": 2, "d": 5}, 2.0), ({"a": 1, "b": 1, "c": 1}, 3.0), ({}, 0)],
)
def test_unseen_fingerprints_is_chao1(counts: dict[str, int], unseen: float) -> None:
    assert unseen_fingerprints(counts) == unseen


def test_alpha_spending_sums_to_at_most_alpha() -> None:
    budget = NoveltyBudget(alpha=0.025, share=0.05, planned=50)
    total = sum(budget.alpha_for(j) for j in range(1, 100_000))
    assert total <= 0.025
    assert total == pytest.approx(0.025, rel=1e-3)
    assert budget.users_for(1) == 3 and budget.users_for(51) == 3
    assert budget.users_for(10_000) > budget.users_for(1)
    assert list(budget.thresholds(3)) == [3, 3, 3]


def test_from_baseline_uses_unseen_estimate_plus_margin() -> None:
    counts = {f"fp{i}": 1 for i in range(20)} | {f"fq{i}": 2 for i in range(5)}
    budget = NoveltyBudget.from_baseline(counts, alpha=0.025, share=0.05)
    assert budget.planned == math.ceil(1.5 * 20 * 20 / 10)


@pytest.mark.parametrize(
    ("treatment", "control", "in_baseline", "outcome"),
    [
        (3, 0, False, GuardOutcome.HARMFUL),
        (2, 0, False, GuardOutcome.HEALTHY),
        (5, 1, False, GuardOutcome.HEALTHY),  # seen in control
        (5, 0, True, GuardOutcome.HEALTHY),  # seen before the run
    ],
)
def test_evaluate_novelty_rule(
    treatment: int, control: int, in_baseline: bool, outcome: GuardOutcome
) -> None:
    budget = NoveltyBudget(alpha=0.025, share=0.05, planned=50)
    tally = FingerprintTally("Oracle::Timeout /appointments", treatment, control, 3.0)
    base = {tally.fingerprint} if in_baseline else set()
    d = evaluate_novelty(budget, [tally], base)
    assert d.outcome is outcome


def test_one_user_retrying_fifty_times_is_one_user() -> None:
    # The aggregation counts distinct users: 50 retries by one user is 1 user.
    budget = NoveltyBudget(alpha=0.025, share=0.05, planned=50)
    tally = FingerprintTally("Oracle::Timeout /appointments", 1, 0, 0.0)
    assert evaluate_novelty(budget, [tally], ()).outcome is GuardOutcome.HEALTHY


def test_rule_switches_off_where_it_cannot_hold_alpha() -> None:
    budget = NoveltyBudget(alpha=0.025, share=0.5, planned=200)
    assert not budget.holds
    tally = FingerprintTally("X", 40, 0, 0.0)
    d = evaluate_novelty(budget, [tally], ())
    assert d.outcome is GuardOutcome.INCONCLUSIVE
    assert "holdback" in d.evidence.notes[0]


def test_budget_rejects_bad_inputs() -> None:
    with pytest.raises(StatsError):
        NoveltyBudget(alpha=0.025, share=0.05, planned=0)
    with pytest.raises(StatsError):
        NoveltyBudget(alpha=0.025, share=0.05, planned=5, reserve=1.0)
    with pytest.raises(StatsError):
        NoveltyBudget(alpha=0.025, share=0.05, planned=5).alpha_for(0)
