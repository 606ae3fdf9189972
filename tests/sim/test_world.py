"""A world's traffic: pure, resumable, stable users, a daily curve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flagramp.core.errors import InvalidScenario
from flagramp.core.events import RequestOutcome
from flagramp.sim import (
    FLAT,
    DailyCurve,
    EventModel,
    FlagState,
    FlagSums,
    Population,
    RequestKind,
    SpanAggregate,
    World,
    minute_start,
    population_ids,
    population_users,
    span_aggregate,
    span_batches,
    span_events,
    user_bucket,
)
from flagramp.sim.channels import Channel, channel_table
from flagramp.sim.examples import VAOS_FLAGS, vaos_world
from flagramp.stats.buckets import bucket_of
from tests.sim.worlds import MONDAY, POPULATION, flags, small_world

SUM_FIELDS = [f.name for f in dataclasses.fields(FlagSums) if f.name != "flag"]


def assert_same(a: SpanAggregate, b: SpanAggregate) -> None:
    assert (a.start, a.end) == (b.start, b.end)
    assert np.array_equal(a.environment, b.environment)
    assert np.array_equal(a.visits, b.visits)
    for key, sums in a.flags.items():
        other = b.flags[key]
        for name in SUM_FIELDS:
            assert np.array_equal(getattr(sums, name), getattr(other, name)), name


def test_same_inputs_give_the_same_traffic_and_other_seeds_do_not() -> None:
    world = small_world()
    a = span_aggregate(5, world, MONDAY, MONDAY + 90, flags())
    assert_same(a, span_aggregate(5, world, MONDAY, MONDAY + 90, flags()))
    c = span_aggregate(6, world, MONDAY, MONDAY + 90, flags())
    assert not np.array_equal(a.flags["new_flow"].counts, c.flags["new_flow"].counts)


@pytest.mark.parametrize("cut", [1, 29, 30, 31, 89, 90, 149])
def test_a_span_cut_anywhere_merges_back_to_the_whole(cut: int) -> None:
    world, start, end = small_world(), MONDAY + 30, MONDAY + 180
    whole = span_aggregate(9, world, start, end, flags())
    left = span_aggregate(9, world, start, start + cut, flags())
    right = span_aggregate(9, world, start + cut, end, flags())
    assert_same(left.merge(right), whole)


def test_resumed_events_equal_the_continuous_run() -> None:
    world, start = small_world(), MONDAY + 50
    continuous = span_events(4, world, start, start + 20, flags())
    resumed = span_events(4, world, start, start + 7, flags()) + span_events(
        4, world, start + 7, start + 20, flags()
    )
    assert continuous == resumed
    batches = list(span_batches(4, world, start, start + 20, flags()))
    assert [b.key.split("-")[2] for b in batches] == [
        str(m) for m in range(start, start + 20)
    ]
    assert len({b.key for b in batches}) == 20
    other = next(span_batches(4, world, start, start + 1, flags(40.0)))
    assert other.key != batches[0].key
    for b, minute in zip(batches, range(start, start + 20), strict=True):
        assert all(
            minute_start(minute) <= e.at < minute_start(minute + 1) for e in b.events
        )


def test_actor_ids_are_stable_and_buckets_are_the_ingests() -> None:
    ids = population_ids(11, POPULATION)
    assert ids[:2] == ("bah-veteran-1@va.gov", "bah-veteran-2@va.gov")
    assert ids[2] == "sim-11-0" and len(set(ids)) == POPULATION.size
    users = population_users(11, POPULATION, 256)
    assert users.bucket.tolist() == [bucket_of(a, 256) for a in ids]
    assert [user_bucket(a, 64) for a in ids[:50]] == [
        bucket_of(a, 64) for a in ids[:50]
    ]


def test_users_return_across_days() -> None:
    world = small_world(visits_per_day=3000)
    days = [
        span_aggregate(2, world, MONDAY + d * 1440, MONDAY + (d + 1) * 1440, flags(0.0))
        for d in range(3)
    ]
    seen = [set(d.flags["new_flow"].exposed_users(0).tolist()) for d in days]
    week = days[0].merge(days[1]).merge(days[2])
    distinct = set(week.flags["new_flow"].exposed_users(0).tolist())
    assert distinct == seen[0] | seen[1] | seen[2]
    # 400 users, 3,000 visits a day: most users come back on another day.
    assert len(seen[0] & seen[1]) > 0.5 * len(seen[0])
    assert week.visits.sum() > 5 * len(distinct)


def test_the_daily_curve_peaks_in_the_afternoon_and_dips_at_weekends() -> None:
    curve = DailyCurve(amplitude=0.6, peak_hour_utc=17.0, weekend=0.5)
    week = curve.factors(MONDAY, MONDAY + 7 * 1440)
    assert week.mean() == pytest.approx(1.0)
    monday = week[:1440]
    assert int(np.argmax(monday)) == 17 * 60
    assert monday.max() / monday.min() == pytest.approx(1.6 / 0.4)
    saturday = week[5 * 1440 : 6 * 1440]
    assert saturday.mean() == pytest.approx(0.5 * monday.mean())
    assert np.all(FLAT.factors(0, 3000) == 1.0)


def test_visits_follow_the_curve() -> None:
    world = small_world(visits_per_day=20_000)
    day = span_aggregate(1, world, MONDAY, MONDAY + 1440, flags())
    hours = day.visits.reshape(24, 60).sum(axis=1)
    expected = world.curve.factors(MONDAY, MONDAY + 1440).reshape(24, 60).sum(axis=1)
    expected = expected * 20_000 / 1440 + 2 * 40 / 24
    # Each hour within 5 standard deviations of its Poisson mean.
    assert np.all(np.abs(hours - expected) < 5 * np.sqrt(expected))


def test_a_flag_moves_requests_to_the_new_path_and_keeps_their_number() -> None:
    world = vaos_world(users=5000, requests_per_minute=100.0)
    first = VAOS_FLAGS[0][0]

    def requests(pct: float) -> dict[str, float]:
        states = (FlagState(first, pct),)
        sums = span_aggregate(1, world, MONDAY, MONDAY + 120, states).flags[first]
        names: dict[str, float] = {}
        for i, c in enumerate(world_channels(world)):
            if c.is_request:
                names[c.name] = names.get(c.name, 0.0) + float(sums.counts[:, i].sum())
        return names

    off, on = requests(0.0), requests(100.0)
    assert sum(off.values()) == sum(on.values())
    assert off["vaos_service_request"] == 0
    assert on["vaos_service_request"] > 0
    assert (
        off["legacy_scheduling_request"] - on["legacy_scheduling_request"]
        == (on["vaos_service_request"])
    )


def world_channels(world: World) -> tuple[Channel, ...]:
    return channel_table(world.model, world.population).channels


@pytest.mark.parametrize("visits", [0.0, 500.0])
def test_a_bare_world_with_one_request_kind_works_even_without_traffic(
    visits: float,
) -> None:
    world = World(
        EventModel((RequestKind("r", "/r"),)),
        Population(users=50),
        visits_per_day=visits,
    )
    states = (FlagState("f", 50.0),)
    agg = span_aggregate(1, world, MONDAY, MONDAY + 90, states)
    evs = span_events(1, world, MONDAY, MONDAY + 90, states)
    requests = sum(isinstance(e, RequestOutcome) for e in evs)
    assert agg.flags["f"].counts.sum() == requests
    assert (requests > 0) is (visits > 0)
    assert agg.environment.shape == (0, 90)


def test_merging_needs_the_next_span_of_the_same_flags() -> None:
    world = small_world()
    a = span_aggregate(1, world, MONDAY, MONDAY + 10, flags())
    b = span_aggregate(1, world, MONDAY + 20, MONDAY + 30, flags())
    with pytest.raises(InvalidScenario, match="next span"):
        a.merge(b)
    with pytest.raises(InvalidScenario, match="next span"):
        a.flags["new_flow"].merge(a.flags["oracle_flow"])
    with pytest.raises(InvalidScenario, match="start < end"):
        span_aggregate(1, world, MONDAY, MONDAY, flags())
    with pytest.raises(InvalidScenario, match="no state given"):
        span_aggregate(1, world, MONDAY, MONDAY + 1, flags(), report=("other",))
    with pytest.raises(InvalidScenario, match="once"):
        span_aggregate(1, world, MONDAY, MONDAY + 1, flags() + flags())
