"""Issue 20's statistical acceptance, small; the long one is in bench."""

from __future__ import annotations

from tests.engine.acceptance_kit import ALPHA, run_once, summarise


def test_healthy_runs_rarely_roll_back_and_doubled_errors_are_caught() -> None:
    got = summarise(healthy=30, regressed=15, first_seed=1)
    assert got.false_rollbacks <= got.false_rate_bound * got.healthy_runs
    # Healthy runs go through all three stages (nothing stuck on the way).
    assert got.healthy_completed == got.healthy_runs - got.false_rollbacks
    assert got.caught_share >= 0.9
    # Within the stage's two-hour hold, at the controller's 30-minute looks.
    assert got.minutes_to_rollback and max(got.minutes_to_rollback) <= 120
    assert ALPHA == 0.05


def test_a_regression_from_the_last_stage_rolls_back_there_not_before() -> None:
    got = run_once(7, regressed_from=2)
    assert got.rolled_back_at == 2
    assert got.passed == 2
