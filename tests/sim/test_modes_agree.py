"""The events mode and the aggregate mode report the same traffic, to the event."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.events import BusinessEvent, Event, Exposure, RequestOutcome
from flagramp.sim import (
    ALLOW_LISTED,
    LANES,
    NO_ACTOR,
    OFF,
    ON,
    FlagState,
    Regression,
    RegressionKind,
    SpanAggregate,
    World,
    span_aggregate,
    span_events,
    user_bucket,
)
from tests.sim.worlds import MONDAY, flags, small_world

ChannelKey = tuple[object, ...]


@dataclass
class Tally:
    """What a naive per-event ingest of one flag would count."""

    counts: dict[tuple[int, int, int], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    values: dict[tuple[int, int, int], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    exposures: dict[tuple[int, int], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    users: dict[tuple[int, int], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    exposed: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    fingerprints: dict[tuple[int, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    fingerprint_users: dict[tuple[int, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    environment: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _key(e: RequestOutcome | BusinessEvent) -> ChannelKey:
    if isinstance(e, RequestOutcome):
        return (True, e.name, e.route, e.device, e.status, ())
    return (False, e.name, e.route, e.device, None, e.attributes)


def tally(
    events: tuple[Event, ...], flag: str, agg: SpanAggregate, buckets: int
) -> Tally:
    index: dict[ChannelKey, int] = {
        (c.is_request, c.name, c.route, c.device, c.status, c.attributes): i
        for i, c in enumerate(agg.channels)
    }
    out = Tally()
    lanes: dict[str, int] = {}
    for e in events:
        if isinstance(e, Exposure):
            if e.flag != flag:
                continue
            lane = (
                ALLOW_LISTED if e.allow_listed else (ON if e.variant == "on" else OFF)
            )
            lanes[e.actor] = lane
            out.exposures[(lane, user_bucket(e.actor, buckets))] += 1
            out.exposed[lane].add(e.actor)
            continue
        if e.actor == NO_ACTOR:
            out.environment[e.name] += 1
            continue
        if e.actor not in lanes:
            continue
        lane = lanes[e.actor]
        ch = index[_key(e)]
        cell = (lane, ch, user_bucket(e.actor, buckets))
        out.counts[cell] += 1
        value = e.latency_ms if isinstance(e, RequestOutcome) else e.value
        if value is not None:
            out.values[cell] += value
        out.users[(lane, ch)].add(e.actor)
        if isinstance(e, RequestOutcome) and e.error is not None:
            out.fingerprints[(lane, e.error)] += 1
            out.fingerprint_users[(lane, e.error)].add(e.actor)
    return out


def assert_agree(
    world: World, start: int, end: int, states: tuple[FlagState, ...]
) -> None:
    agg = span_aggregate(3, world, start, end, states)
    events = span_events(3, world, start, end, states)
    for state in states:
        sums = agg.flags[state.key]
        t = tally(events, state.key, agg, world.buckets)
        counts = np.zeros_like(sums.counts)
        values = np.zeros_like(sums.value_sums)
        for (lane, ch, b), n in t.counts.items():
            counts[lane, ch, b] = n
        for (lane, ch, b), v in t.values.items():
            values[lane, ch, b] = v
        assert np.array_equal(counts, sums.counts)
        assert np.array_equal(values, sums.value_sums)
        exposures = np.zeros_like(sums.exposures)
        for (lane, b), n in t.exposures.items():
            exposures[lane, b] = n
        assert np.array_equal(exposures, sums.exposures)
        for lane in range(LANES):
            ids = {agg.actors[u] for u in sums.exposed_users(lane)}
            assert ids == t.exposed[lane]
            for ch in range(len(agg.channels)):
                ids = {agg.actors[u] for u in sums.users_of(lane, ch)}
                assert ids == t.users[(lane, ch)]
            for f, name in enumerate(agg.fingerprints):
                assert sums.fingerprint_counts[lane, f] == t.fingerprints[(lane, name)]
                ids = {agg.actors[u] for u in sums.fingerprint_user_ids(lane, f)}
                assert ids == t.fingerprint_users[(lane, name)]
        env = {
            k.name: int(agg.environment[i].sum())
            for i, k in enumerate(world.model.environment)
        }
        assert env == {name: t.environment[name] for name in env}


REGRESSIONS = (
    Regression(RegressionKind.RATE, 0.2, flag="new_flow"),
    Regression(RegressionKind.FINGERPRINT, 0.1, flag="new_flow", fingerprint="Boom /x"),
    Regression(RegressionKind.LATENCY, 500.0, flag="new_flow", target="api_request"),
    Regression(
        RegressionKind.PROBABILITY, 0.3, flag="new_flow", target="scheduling_abandoned"
    ),
    Regression(RegressionKind.VALUE, -1.5, flag="new_flow", target="csat_response"),
    Regression(
        RegressionKind.ENVIRONMENT, 0.2, flag="new_flow", target="contact_center_call"
    ),
)


@settings(max_examples=20, deadline=None)
@given(
    offset=st.integers(0, 3000),
    length=st.integers(1, 150),
    percentage=st.sampled_from([0.0, 0.5, 5.0, 37.5, 100.0]),
    allow=st.booleans(),
    regressions=st.lists(st.sampled_from(REGRESSIONS), max_size=3, unique=True),
)
def test_events_and_aggregates_agree_on_every_sum(
    offset: int,
    length: int,
    percentage: float,
    allow: bool,
    regressions: list[Regression],
) -> None:
    start = MONDAY + offset
    assert_agree(
        small_world(*regressions), start, start + length, flags(percentage, allow=allow)
    )


def test_agreement_holds_for_a_busy_hour_with_every_regression() -> None:
    assert_agree(
        small_world(*REGRESSIONS, visits_per_day=40_000),
        MONDAY + 700,
        MONDAY + 760,
        flags(30.0),
    )
