"""Regressions change what they say, in treatment only, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from flagramp.core.errors import InvalidScenario
from flagramp.sim import (
    OFF,
    ON,
    FlagSums,
    Regression,
    RegressionKind,
    SpanAggregate,
    World,
    span_aggregate,
)
from tests.sim.test_world import SUM_FIELDS
from tests.sim.worlds import MODEL, MONDAY, POPULATION, flags, small_world

DAY = (MONDAY, MONDAY + 1440)


def day(*regressions: Regression, percentage: float = 50.0) -> SpanAggregate:
    world = small_world(*regressions, visits_per_day=20_000)
    return span_aggregate(21, world, *DAY, flags(percentage))


def channels(agg: SpanAggregate, **match: object) -> list[int]:
    return [
        i
        for i, c in enumerate(agg.channels)
        if all(
            (dict(c.attributes).get(k) if k == "target" else getattr(c, k)) == v
            for k, v in match.items()
        )
    ]


def total(sums: FlagSums, lane: int, chs: list[int], what: str = "counts") -> float:
    return float(getattr(sums, what)[lane][chs].sum())


def rate(agg: SpanAggregate, lane: int) -> float:
    s = agg.flags["new_flow"]
    requests = channels(agg, name="api_request")
    failed = [c for c in requests if agg.channels[c].status != 200]
    return total(s, lane, failed) / total(s, lane, requests)


def test_a_treatment_regression_leaves_control_traffic_bit_for_bit() -> None:
    plain = day()
    for r in (
        Regression(RegressionKind.RATE, 0.2, flag="new_flow"),
        Regression(RegressionKind.FINGERPRINT, 0.3, flag="new_flow"),
        Regression(RegressionKind.VALUE, -2.0, flag="new_flow", target="csat_response"),
    ):
        hit = day(r)
        a, b = plain.flags["new_flow"], hit.flags["new_flow"]
        assert np.array_equal(a.counts[OFF], b.counts[OFF])
        assert np.array_equal(a.value_sums[OFF], b.value_sums[OFF])
        assert not np.array_equal(a.counts[ON], b.counts[ON]) or not np.array_equal(
            a.value_sums[ON], b.value_sums[ON]
        )


def test_a_rate_regression_raises_treatments_error_rate_only() -> None:
    plain, hit = day(), day(Regression(RegressionKind.RATE, 0.05, flag="new_flow"))
    assert rate(hit, OFF) == rate(plain, OFF)
    assert rate(hit, ON) - rate(plain, ON) == pytest.approx(0.05, abs=0.01)


def test_a_latency_regression_shifts_treatment_and_causes_timeouts() -> None:
    shift = Regression(
        RegressionKind.LATENCY, 400.0, flag="new_flow", target="api_request"
    )
    plain, hit = day(), day(shift)
    ok = channels(plain, name="api_request", status=200)
    timeouts = channels(plain, name="api_request", status=504)
    for agg, lane, more in ((hit, ON, True), (hit, OFF, False)):
        s, p = agg.flags["new_flow"], plain.flags["new_flow"]
        mean = total(s, lane, ok, "value_sums") / total(s, lane, ok, "value_counts")
        before = total(p, lane, ok, "value_sums") / total(p, lane, ok, "value_counts")
        assert (mean > before + 100.0) is more
        assert (total(s, lane, timeouts) > 3 * total(p, lane, timeouts)) is more


def test_a_new_fingerprint_appears_in_treatment_only_and_counts_its_users() -> None:
    r = Regression(
        RegressionKind.FINGERPRINT, 0.02, flag="new_flow", fingerprint="Oracle::Boom /x"
    )
    agg = day(r)
    f = agg.fingerprints.index("Oracle::Boom /x")
    s = agg.flags["new_flow"]
    assert s.fingerprint_counts[OFF, f] == 0
    assert s.fingerprint_counts[ON, f] > 50
    users = s.fingerprint_user_ids(ON, f)
    assert 0 < users.shape[0] <= s.fingerprint_counts[ON, f]
    assert s.fingerprint_first[ON, f] >= MONDAY
    assert s.fingerprint_first[OFF, f] == -1


def test_probability_and_value_regressions_move_business_events() -> None:
    abandon = Regression(
        RegressionKind.PROBABILITY, 0.3, flag="new_flow", target="scheduling_abandoned"
    )
    csat = Regression(
        RegressionKind.VALUE, -1.0, flag="new_flow", target="csat_response"
    )
    plain, hit = day(), day(abandon, csat)

    def ratio(agg: SpanAggregate, lane: int) -> float:
        s = agg.flags["new_flow"]
        started = channels(agg, name="scheduling_started")
        return total(s, lane, channels(agg, name="scheduling_abandoned")) / total(
            s, lane, started
        )

    def mean(agg: SpanAggregate, lane: int) -> float:
        s, chs = agg.flags["new_flow"], channels(agg, name="csat_response")
        return total(s, lane, chs, "value_sums") / total(s, lane, chs, "value_counts")

    assert ratio(plain, ON) == pytest.approx(0.2, abs=0.02)
    assert ratio(hit, ON) == pytest.approx(0.5, abs=0.03)
    assert ratio(hit, OFF) == ratio(plain, OFF)
    # Mean 3.95; a shift of -1 moves every score down one, except the 1s (5 %),
    # which stay on the scale: the mean falls by 0.95.
    assert mean(plain, ON) == pytest.approx(3.95, abs=0.12)
    assert mean(plain, ON) - mean(hit, ON) == pytest.approx(0.95, abs=0.03)
    assert mean(hit, OFF) == mean(plain, OFF)
    s = hit.flags["new_flow"]
    csat_channels = channels(hit, name="csat_response")
    assert s.value_min[ON][csat_channels].min() == 1.0
    assert s.value_max[ON][csat_channels].max() == 4.0


def test_an_environment_regression_adds_actorless_events_per_treated_visit() -> None:
    plain = day(percentage=100.0)
    calls = Regression(
        RegressionKind.ENVIRONMENT, 0.01, flag="new_flow", target="contact_center_call"
    )
    hit = day(calls, percentage=100.0)
    extra = hit.environment.sum() - plain.environment.sum()
    treated = hit.flags["new_flow"].exposures[ON].sum()
    assert extra == pytest.approx(0.01 * treated, rel=0.2)
    assert plain.environment.sum() == pytest.approx(200 * 7 / 6.4, rel=0.2)


def test_a_regression_limited_by_property_spares_other_users() -> None:
    r = Regression(
        RegressionKind.RATE, 0.5, flag="new_flow", properties=(("ehr", "vista"),)
    )
    agg = span_aggregate(21, small_world(r, visits_per_day=20_000), *DAY, flags(100.0))
    # Same users and draws: a filter nobody matches leaves the base rate.
    nobody_hit = span_aggregate(
        21,
        small_world(
            Regression(
                RegressionKind.RATE, 0.5, flag="new_flow", properties=(("ehr", "mars"),)
            ),
            visits_per_day=20_000,
        ),
        *DAY,
        flags(100.0),
    )
    assert rate(nobody_hit, ON) < 0.1
    assert rate(agg, ON) > 0.25


def test_a_fixed_regression_leaves_the_minutes_before_the_fix_alone() -> None:
    r = Regression(RegressionKind.RATE, 0.3, flag="new_flow", start_minute=MONDAY + 60)
    fixed = r.fixed_at(MONDAY + 120)
    world, fixed_world = small_world(r), small_world(fixed)
    for start, end, same in (
        (MONDAY + 60, MONDAY + 120, True),
        (MONDAY + 120, MONDAY + 180, False),
    ):
        a = span_aggregate(1, world, start, end, flags(50.0)).flags["new_flow"]
        b = span_aggregate(1, fixed_world, start, end, flags(50.0)).flags["new_flow"]
        assert (
            all(np.array_equal(getattr(a, n), getattr(b, n)) for n in SUM_FIELDS)
            is same
        )
    after = span_aggregate(1, fixed_world, MONDAY + 120, MONDAY + 180, flags(50.0))
    plain = span_aggregate(1, small_world(), MONDAY + 120, MONDAY + 180, flags(50.0))
    assert np.array_equal(
        after.flags["new_flow"].counts, plain.flags["new_flow"].counts
    )


@pytest.mark.parametrize(
    ("regression", "match"),
    [
        (Regression(RegressionKind.RATE, 0.1, target="nope"), "no request kind"),
        (Regression(RegressionKind.RATE, 0.1, route="/nowhere"), "at route"),
        (
            Regression(RegressionKind.VALUE, 0.1, target="csat_response", route="/a"),
            "only request regressions",
        ),
        (
            Regression(RegressionKind.PROBABILITY, 0.1, target="nope"),
            "business kind or page",
        ),
        (Regression(RegressionKind.VALUE, 0.1, target="rum_click"), "with a value"),
        (Regression(RegressionKind.ENVIRONMENT, 0.1), "environment kind"),
        (
            Regression(RegressionKind.ENVIRONMENT, 2.0, target="contact_center_call"),
            "probability",
        ),
        (Regression(RegressionKind.FINGERPRINT, 1.5), "probability"),
        (Regression(RegressionKind.RATE, 0.1, start_minute=5, end_minute=4), "before"),
    ],
)
def test_regressions_that_name_nothing_are_refused(
    regression: Regression, match: str
) -> None:
    with pytest.raises(InvalidScenario, match=match):
        World(MODEL, POPULATION, regressions=(regression,))
