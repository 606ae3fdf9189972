"""Small worlds for the simulator's tests: every kind of event, little traffic."""

from __future__ import annotations

import datetime as dt

from flagramp.core.flags import Segment
from flagramp.sim import (
    BusinessKind,
    Discrete,
    EnvironmentKind,
    EventModel,
    FlagState,
    LogNormal,
    PageFlow,
    Population,
    Regression,
    RequestKind,
    Trait,
    World,
    epoch_minute,
)

#: A Monday, midnight UTC.
MONDAY = epoch_minute(dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
TESTERS = ("bah-veteran-1@va.gov", "bah-veteran-2@va.gov")
ORACLE = Segment.from_rules("oracle_patients", ["ehr in [oracle, dual]"])

MODEL = EventModel(
    requests=(
        RequestKind(
            "api_request",
            "/appointments",
            weight=3.0,
            failure_rate=0.03,
            fingerprints=5,
            timeout_ms=900.0,
            failure_event="api_error",
            timeout_event="api_timeout",
        ),
        RequestKind(
            "new_service_request",
            "/new",
            failure_rate=0.05,
            fingerprints=("Vaos::Error /new", "Vaos::Gone /new"),
            flag="new_flow",
        ),
        RequestKind("old_service_request", "/old", flag="new_flow", flag_on=False),
    ),
    business=(
        BusinessKind("scheduling_started", 0.4),
        BusinessKind("scheduling_abandoned", 0.2, after="scheduling_started"),
        BusinessKind(
            "csat_response",
            0.1,
            value=Discrete((1, 2, 3, 4, 5), (0.05, 0.05, 0.2, 0.3, 0.4)),
            route="/feedback",
        ),
        BusinessKind("wait_seen", 0.1, value=LogNormal(40.0, 0.3)),
        BusinessKind("rum_click", 0.2, attributes=(("target", "care_system_radio"),)),
        BusinessKind("rum_click", 0.1, attributes=(("target", "cant_find"),)),
    ),
    pages=(
        PageFlow(
            "/recent",
            0.3,
            (
                ("/recent", "/start-message", 0.6),
                ("/recent", "/select-care-team", 0.3),
                ("/select-care-team", "/start-message", 0.8),
            ),
        ),
    ),
    environment=(EnvironmentKind("contact_center_call", 200.0),),
    session_min=1,
    session_max=8,
)

POPULATION = Population(
    users=400,
    traits=(Trait("ehr", ("oracle", "dual", "vista"), (0.3, 0.1, 0.6)),),
    named=TESTERS,
    named_properties=(("ehr", "oracle"),),
    named_visits_per_day=40.0,
    failure_spread=0.5,
    latency_spread=0.3,
)


def small_world(*regressions: Regression, visits_per_day: float = 6000.0) -> World:
    """Every kind of event, a few visits a minute."""
    return World(
        MODEL,
        POPULATION,
        visits_per_day=visits_per_day,
        regressions=regressions,
    )


def flags(percentage: float = 25.0, *, allow: bool = True) -> tuple[FlagState, ...]:
    """The test world's flags: `new_flow` at `percentage` with the testers
    allow-listed, and an eligibility-limited `oracle_flow` at 50 %."""
    return (
        FlagState("new_flow", percentage, allow_list=TESTERS if allow else ()),
        FlagState("oracle_flow", 50.0, eligibility=ORACLE),
    )
