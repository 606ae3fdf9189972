"""Count limits and the α split between a stage's guards."""

from __future__ import annotations

import pytest

from flagramp.core.errors import StatsError
from flagramp.stats import CountLimit, GuardOutcome, evaluate_count_limit, split_alpha


@pytest.mark.parametrize(
    ("count", "outcome"),
    [(0, GuardOutcome.HEALTHY), (1, GuardOutcome.HEALTHY), (2, GuardOutcome.HARMFUL)],
)
def test_contact_center_calls_below_two(count: int, outcome: GuardOutcome) -> None:
    d = evaluate_count_limit(CountLimit("contact-center calls", 2), count)
    assert d.outcome is outcome
    assert d.evidence.threshold == 2.0


def test_count_limit_rejects_bad_values() -> None:
    with pytest.raises(StatsError):
        CountLimit("calls", 0)
    with pytest.raises(StatsError):
        evaluate_count_limit(CountLimit("calls", 2), -1)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"a": 1, "b": 1}, {"a": 0.025, "b": 0.025}),
        ({"a": 3, "b": 1}, {"a": 0.0375, "b": 0.0125}),
        ({"a": 1}, {"a": 0.05}),
    ],
)
def test_split_alpha_is_proportional_and_sums_to_alpha(
    weights: dict[str, float], expected: dict[str, float]
) -> None:
    got = split_alpha(0.05, weights)
    assert got == pytest.approx(expected)
    assert sum(got.values()) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("alpha", "weights"), [(0.0, {"a": 1}), (0.05, {}), (0.05, {"a": 0})]
)
def test_split_alpha_rejects_bad_inputs(
    alpha: float, weights: dict[str, float]
) -> None:
    with pytest.raises(StatsError):
        split_alpha(alpha, weights)
