"""The simulator: deterministic, resumable, consistent between events and aggregates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from flagramp.core.errors import InvalidScenario
from flagramp.core.events import Exposure, RequestOutcome, Variant
from flagramp.sim import (
    Regression,
    RegressionKind,
    Scenario,
    minute_aggregate,
    minute_batch,
    minute_events,
    minute_users,
    request_rate,
)

START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def test_same_seed_and_minute_give_identical_aggregates() -> None:
    a = minute_aggregate(7, Scenario(icc=0.2), 42, 20)
    b = minute_aggregate(7, Scenario(icc=0.2), 42, 20)
    for field in ("requests", "errors", "users", "fingerprint_users"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    c = minute_aggregate(8, Scenario(icc=0.2), 42, 20)
    assert not np.array_equal(a.errors, c.errors)


def test_resuming_at_minute_m_equals_the_continuous_run() -> None:
    sc = Scenario()
    continuous = [minute_aggregate(3, sc, m, 5) for m in range(6)]
    # A "resumed" run only computes minutes 3..5, possibly in another order.
    resumed = [minute_aggregate(3, sc, m, 5) for m in (5, 3, 4)]
    for agg in resumed:
        assert np.array_equal(agg.errors, continuous[agg.minute].errors)


def test_events_aggregate_to_the_same_totals() -> None:
    sc = Scenario(requests_per_minute=300).with_regressions(
        Regression(RegressionKind.FINGERPRINT, 0.05)
    )
    agg = minute_aggregate(11, sc, 4)
    events = minute_events(11, sc, 4, flag="oracle", start=START)
    exposures = [e for e in events if isinstance(e, Exposure)]
    outcomes = [e for e in events if isinstance(e, RequestOutcome)]
    treated = {e.actor for e in exposures if e.variant is Variant.ON}
    for arm, in_arm in ((0, False), (1, True)):
        mine = [o for o in outcomes if (o.actor in treated) is in_arm]
        assert len(mine) == agg.requests[0, arm].sum()
        assert sum(o.status == 500 for o in mine) == agg.errors[0, arm].sum()
    assert len(exposures) == agg.users.sum()
    new = {o.actor for o in outcomes if o.error == "NewError /regression"}
    assert new <= treated
    assert len(new) == agg.fingerprint_users[0, 1, -1]
    assert agg.fingerprint_users[0, 0, -1] == 0
    assert minute_batch(11, sc, 4, flag="oracle", start=START).key == "sim-11-4"


def test_latency_regression_shifts_treatment_only() -> None:
    sc = Scenario(requests_per_minute=400, treatment_share=0.5).with_regressions(
        Regression(RegressionKind.LATENCY, 1000.0, start_minute=2)
    )
    before = minute_events(5, sc, 1, flag="f", start=START)
    after = minute_events(5, sc, 2, flag="f", start=START)

    def slow_share(events: tuple[object, ...]) -> float:
        outs = [e for e in events if isinstance(e, RequestOutcome)]
        return sum(o.latency_ms > 1000 for o in outs) / len(outs)

    assert slow_share(after) > slow_share(before) + 0.02


@pytest.mark.parametrize("icc", [0.0, 0.05, 0.2])
def test_error_rate_and_intra_user_correlation_match_the_scenario(icc: float) -> None:
    sc = Scenario(icc=icc, error_rate=0.05, session_min=20, session_max=20)
    block = minute_users(1, sc, 0, 200)
    rate = block.errors.sum() / block.requests.sum()
    assert rate == pytest.approx(0.05, rel=0.05)
    # Var of a user's error count, m=20: m p q (1 + (m − 1) ρ).
    var = float(np.var(block.errors))
    expected = 20 * 0.05 * 0.95 * (1 + 19 * icc)
    assert var == pytest.approx(expected, rel=0.15)


def test_rate_regression_from_its_start_minute_in_treatment_only() -> None:
    sc = Scenario().with_regressions(Regression(RegressionKind.RATE, 0.04, 10))
    early, late = minute_aggregate(2, sc, 9, 200), minute_aggregate(2, sc, 10, 200)

    def rates(a: object) -> tuple[float, float]:
        e, r = a.errors.sum(axis=(0, 2)), a.requests.sum(axis=(0, 2))  # type: ignore[attr-defined]
        return float(e[0] / r[0]), float(e[1] / r[1])

    assert rates(early)[1] == pytest.approx(0.01, abs=0.003)
    assert rates(late)[1] == pytest.approx(0.05, abs=0.005)
    assert rates(late)[0] == pytest.approx(0.01, abs=0.002)


def test_oracle_only_regression_spares_vista_users() -> None:
    sc = Scenario(oracle_share=0.5).with_regressions(
        Regression(RegressionKind.RATE, 0.5, ehr="oracle")
    )
    b = minute_users(4, sc, 0, 100)
    vista = b.treatment & ~b.oracle
    oracle = b.treatment & b.oracle
    assert b.errors[vista].sum() / b.requests[vista].sum() < 0.05
    assert b.errors[oracle].sum() / b.requests[oracle].sum() > 0.4


def test_daily_pattern_and_validation() -> None:
    sc = Scenario(daily_amplitude=0.5)
    assert request_rate(sc, 720) == pytest.approx(3000.0)
    assert request_rate(sc, 0) == pytest.approx(1000.0)
    with pytest.raises(InvalidScenario, match="treatment_share"):
        Scenario(treatment_share=1.5)
    with pytest.raises(ValueError):
        minute_users(1, sc, -1)
    with pytest.raises(InvalidScenario, match="need a World"):
        Scenario(regressions=(Regression(RegressionKind.VALUE, -1.0),))
    with pytest.raises(InvalidScenario, match="need a World"):
        Scenario(regressions=(Regression(RegressionKind.RATE, 0.1, flag="f"),))


@pytest.mark.parametrize(("share", "arm"), [(0.0, 0), (1.0, 1)])
def test_zero_and_full_shares_put_every_user_in_one_arm(share: float, arm: int) -> None:
    agg = minute_aggregate(5, Scenario(treatment_share=share), 3, 4)
    assert agg.users[:, arm].sum() > 0
    assert agg.users[:, 1 - arm].sum() == 0
    assert agg.requests[:, 1 - arm].sum() == 0


def test_a_fixed_regression_stops_at_its_end_minute() -> None:
    r = Regression(RegressionKind.RATE, 0.5, start_minute=2).fixed_at(4)
    sc = Scenario(treatment_share=0.5).with_regressions(r)
    plain = Scenario(treatment_share=0.5)
    for minute, hit in ((1, False), (2, True), (3, True), (4, False)):
        a, b = (
            minute_aggregate(8, sc, minute, 20),
            minute_aggregate(8, plain, minute, 20),
        )
        assert np.array_equal(a.errors, b.errors) is not hit
