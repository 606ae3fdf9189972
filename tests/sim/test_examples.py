"""The example worlds emit every metric their example plans define."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from flagramp.core.flags import Segment
from flagramp.core.plans import load_plan
from flagramp.core.plans.declared_events import EventKind
from flagramp.sim import (
    OFF,
    ON,
    FlagState,
    Regression,
    RegressionKind,
    SpanAggregate,
    World,
    span_aggregate,
)
from flagramp.sim.examples import (
    SM_FLAGS,
    SM_TESTERS,
    UAE_FLAG,
    VAOS_FLAGS,
    secure_messaging_world,
    uae_world,
    vaos_world,
)
from tests.sim.worlds import MONDAY, ORACLE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES: dict[str, tuple[Callable[[], World], tuple[FlagState, ...]]] = {
    "vaos-service-integration.yaml": (
        lambda: vaos_world(users=30_000),
        tuple(FlagState(f, 50.0) for f, _ in VAOS_FLAGS),
    ),
    "secure-messaging-oracle-health.yaml": (
        lambda: secure_messaging_world(users=20_000),
        tuple(
            FlagState(f, 50.0, allow_list=SM_TESTERS, bucket_key="sm") for f in SM_FLAGS
        ),
    ),
    "uae-appointments-dark-deploy.yaml": (
        lambda: uae_world(users=10_000),
        (FlagState(UAE_FLAG, 50.0, eligibility=ORACLE),),
    ),
}


def matching(agg: SpanAggregate, event: str, where: tuple[str, ...]) -> list[int]:
    check = Segment.from_rules("m", where).compile() if where else None
    out = []
    for i, c in enumerate(agg.channels):
        names = {c.name}
        if c.is_request and (c.status or 0) >= 500:
            names.add(f"{c.name}_failed")
        if event in names and (check is None or check(c.properties())):
            out.append(i)
    return out


@pytest.mark.parametrize("file", sorted(CASES))
def test_every_metric_of_the_plan_has_simulated_events(file: str) -> None:
    plan = load_plan((EXAMPLES / file).read_text(), file).plan
    make, states = CASES[file]
    world = make()
    agg = span_aggregate(1, world, MONDAY + 600, MONDAY + 1000, states)
    sums = agg.flags[states[0].key]
    environment = {k.name: i for i, k in enumerate(world.model.environment)}
    assert plan.metrics
    # Each declared event is simulated as what the plan says it is.
    requests = {k.name for k in world.model.request_kinds}
    business = (
        {k.name for k in world.model.business}
        | {k.timeout_event for k in world.model.request_kinds if k.timeout_event}
        | {flow.name for flow in world.model.pages}
    )
    for event, decl in plan.events.items():
        if not decl.actor:
            assert event in environment, event
        elif decl.kind is EventKind.REQUEST:
            assert event in requests, event
        else:
            assert event in business, event
    for name, metric in plan.metrics.items():
        # External queries (Datadog, Prometheus) name no events.
        for event in metric.event_names():
            if event in environment:
                assert metric.kind == "count", name
                continue
            chs = matching(agg, event, metric.where)
            assert chs, f"{file}: no simulated events for {name} ({event})"
            seen = sums.counts[ON][chs].sum() + sums.counts[OFF][chs].sum()
            # Seed 003's timeouts are "near zero" when healthy: see the next test.
            assert seen > 0 or event == "oracle_api_timeout", f"{file}: {name}"
            if getattr(metric, "value", None) is not None:
                assert all(agg.channels[c].has_value for c in chs), name


def test_uae_timeouts_come_with_slow_oracle_responses_only() -> None:
    slow = Regression(
        RegressionKind.LATENCY, 30_000.0, flag=UAE_FLAG, target="oracle_api_request"
    )
    states = (FlagState(UAE_FLAG, 20.0, eligibility=ORACLE),)
    for world, timeouts in (
        (uae_world(users=10_000), False),
        (uae_world(users=10_000).with_regressions(slow), True),
    ):
        agg = span_aggregate(3, world, MONDAY + 600, MONDAY + 1000, states)
        chs = matching(agg, "oracle_api_timeout", ())
        sums = agg.flags[UAE_FLAG]
        assert sums.counts[OFF][chs].sum() == 0
        assert bool(sums.counts[ON][chs].sum() > 0) is timeouts


def test_vaos_calls_the_new_service_only_while_its_toggle_is_on() -> None:
    world = vaos_world(users=30_000)
    first, _ = VAOS_FLAGS[0]
    states = (FlagState(first, 10.0), *(FlagState(f, 0.0) for f, _ in VAOS_FLAGS[1:]))
    agg = span_aggregate(2, world, MONDAY + 600, MONDAY + 720, states)
    sums = agg.flags[first]
    vaos = matching(agg, "vaos_service_request", ())
    routes = {agg.channels[c].route for c in vaos if sums.counts[ON][c].sum() > 0}
    assert routes == {"/vaos/facilities"}
    assert sums.counts[OFF][vaos].sum() == 0
    users = len(sums.exposed_users(ON)) + len(sums.exposed_users(OFF))
    assert users > 2000
    share = len(sums.exposed_users(ON)) / users
    assert share == pytest.approx(0.10, abs=4 * np.sqrt(0.09 / users))


def test_a_phase_iii_regression_on_its_route_raises_only_that_paths_errors() -> None:
    third, route = VAOS_FLAGS[2]
    broken = Regression(
        RegressionKind.RATE,
        0.06,
        flag=third,
        target="vaos_service_request",
        route=f"/vaos{route}",
    )
    world = vaos_world(users=30_000).with_regressions(broken)
    states = tuple(
        FlagState(f, 100.0 if i < 2 else 25.0) for i, (f, _) in enumerate(VAOS_FLAGS)
    )
    agg = span_aggregate(4, world, MONDAY + 600, MONDAY + 780, states)
    sums = agg.flags[third]

    def rate(lane: int, path: str) -> float:
        asked = [
            c
            for c in matching(agg, "vaos_service_request", ())
            if agg.channels[c].route == path
        ]
        failed = [c for c in asked if agg.channels[c].status == 500]
        return float(sums.counts[lane][failed].sum() / sums.counts[lane][asked].sum())

    assert rate(ON, f"/vaos{route}") == pytest.approx(0.07, abs=0.02)
    assert rate(ON, "/vaos/facilities") < 0.03
    assert rate(OFF, "/vaos/facilities") < 0.03
