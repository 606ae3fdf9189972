"""Events as an application sends them: exposures first, paths in order."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest

from flagramp.core.events import BusinessEvent, Event, Exposure, RequestOutcome
from flagramp.sim import NO_ACTOR, population_users, span_events
from tests.sim.worlds import MONDAY, POPULATION, TESTERS, flags, small_world

START, END = MONDAY + 720, MONDAY + 780


def events(percentage: float = 25.0) -> tuple[Event, ...]:
    return span_events(
        12, small_world(visits_per_day=30_000), START, END, flags(percentage)
    )


def test_each_visit_is_exposed_once_per_flag_it_is_eligible_for() -> None:
    evs = events()
    users = population_users(12, POPULATION, 256)
    ehr = dict(zip(users.ids, (p.get("ehr") for p in users.properties), strict=True))
    first_seen: dict[str, object] = {}
    for e in evs:
        if isinstance(e, Exposure):
            first_seen.setdefault(e.actor, e.at)
            if e.flag == "oracle_flow":
                assert ehr[e.actor] in ("oracle", "dual")
        elif e.actor != NO_ACTOR:
            assert e.actor in first_seen
            assert first_seen[e.actor] <= e.at  # type: ignore[operator]
    exposures = [e for e in evs if isinstance(e, Exposure) and e.flag == "new_flow"]
    oracle = [e for e in evs if isinstance(e, Exposure) and e.flag == "oracle_flow"]
    assert 0 < len(oracle) < len(exposures)


@pytest.mark.parametrize("percentage", [0.0, 100.0])
def test_allow_listed_testers_get_the_flag_and_say_so(percentage: float) -> None:
    mine = [
        e
        for e in events(percentage)
        if isinstance(e, Exposure) and e.flag == "new_flow"
    ]
    testers = {e.actor for e in mine if e.allow_listed}
    assert testers == set(TESTERS)
    assert all(e.variant == "on" for e in mine if e.allow_listed)
    others = {e.variant for e in mine if not e.allow_listed}
    assert others == ({"on"} if percentage == 100.0 else {"off"})


def test_environment_events_have_no_actor() -> None:
    calls = [
        e for e in events() if isinstance(e, BusinessEvent) and e.actor == NO_ACTOR
    ]
    assert calls and {e.name for e in calls} == {"contact_center_call"}


def test_a_visits_page_views_follow_the_flow_in_order() -> None:
    evs = events()
    visits: dict[tuple[str, int], int] = defaultdict(int)
    views: dict[tuple[str, int], list[BusinessEvent]] = defaultdict(list)
    for e in evs:
        minute = int(e.at.timestamp() // 60)
        if isinstance(e, Exposure) and e.flag == "new_flow":
            visits[(e.actor, minute)] += 1
        if isinstance(e, BusinessEvent) and e.name == "page_view":
            views[(e.actor, minute)].append(e)
    # A user seldom visits twice in one minute; keep the paths that are one visit's.
    paths = [path for key, path in views.items() if visits[key] == 1]
    assert len(paths) > 50
    straight = 0
    for path in paths:
        assert path[0].route == "/recent" and path[0].attributes == ()
        for before, after in itertools.pairwise(path):
            assert before.at < after.at
            assert dict(after.attributes)["referrer"] == before.route
        straight += len(path) > 1 and path[1].route == "/start-message"
    # The flow sends 60 % of /recent straight to /start-message.
    n = len(paths)
    assert straight / n == pytest.approx(0.6, abs=4 * (0.24 / n) ** 0.5)


def test_a_minutes_events_are_in_time_order() -> None:
    evs = events()
    assert list(evs) == sorted(evs, key=lambda e: e.at)


def test_abandonment_follows_a_start_in_the_same_visit() -> None:
    started: set[tuple[str, int]] = set()
    abandoned = 0
    for e in events():
        if isinstance(e, BusinessEvent) and e.name == "scheduling_started":
            started.add((e.actor, int(e.at.timestamp() // 60)))
        if isinstance(e, BusinessEvent) and e.name == "scheduling_abandoned":
            abandoned += 1
            assert (e.actor, int(e.at.timestamp() // 60)) in started
    assert abandoned > 0


def test_a_user_keeps_one_device_and_scores_stay_on_the_scale() -> None:
    devices: dict[str, set[str]] = defaultdict(set)
    for e in events():
        if isinstance(e, RequestOutcome | BusinessEvent) and e.actor != NO_ACTOR:
            devices[e.actor].add(e.device.value)
        if isinstance(e, BusinessEvent) and e.name == "csat_response":
            assert e.value in (1.0, 2.0, 3.0, 4.0, 5.0)
    assert all(len(d) == 1 for d in devices.values())
    assert len({d for ds in devices.values() for d in ds}) == 3
