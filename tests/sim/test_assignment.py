"""Simulated users get the flag exactly as flagramp's own evaluation decides."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.clock import VirtualClock
from flagramp.core.errors import InvalidScenario
from flagramp.core.flags import Evaluator, Flag, Percentage, bucket
from flagramp.sim import (
    ALLOW_LISTED,
    NOT_EXPOSED,
    OFF,
    ON,
    FlagState,
    Population,
    Trait,
    flag_lanes,
    population_ids,
    population_users,
)
from tests.sim.worlds import ORACLE, TESTERS

POPULATION = Population(
    users=3000,
    traits=(Trait("ehr", ("oracle", "dual", "vista"), (0.3, 0.1, 0.6)),),
    named=TESTERS,
)
SEGMENTS = {"oracle_patients": ORACLE}


def evaluated_lanes(flag: Flag, seed: int) -> list[int]:
    """The lanes flagramp's evaluator gives, one user at a time."""
    evaluator = Evaluator(SEGMENTS, VirtualClock(), random.Random(0).random)
    compiled = evaluator.compile(flag)
    users = population_users(seed, POPULATION, 256)
    eligible = SEGMENTS.get(flag.eligibility or "")
    lanes = []
    for actor, props in zip(users.ids, users.properties, strict=True):
        if eligible is not None and not eligible.contains(props):
            lanes.append(NOT_EXPOSED)
        elif not compiled.is_enabled(actor, props):
            lanes.append(OFF)
        elif actor in flag.actors and not flag.boolean:
            lanes.append(ALLOW_LISTED)
        else:
            lanes.append(ON)
    return lanes


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    percentage=st.sampled_from(
        ["0", "0.001", "1", "5", "12.5", "33.333", "99.999", "100"]
    ),
    allow=st.booleans(),
    eligibility=st.booleans(),
    deny=st.booleans(),
    boolean=st.booleans(),
)
def test_lanes_follow_flagramps_evaluation(
    seed: int,
    percentage: str,
    allow: bool,
    eligibility: bool,
    deny: bool,
    boolean: bool,
) -> None:
    ids = population_ids(seed, POPULATION)
    flag = Flag(
        key="mhv_secure_messaging_curated_list_flow",
        boolean=boolean,
        actors=TESTERS if allow else (),
        percentage_of_actors=Percentage.parse(percentage),
        denied_actors=(ids[5], ids[2]) if deny else (),
        eligibility="oracle_patients" if eligibility else None,
    )
    state = FlagState.from_flag(flag, SEGMENTS)
    lanes = flag_lanes(seed, POPULATION, 256, state)
    assert lanes.tolist() == evaluated_lanes(flag, seed)


def test_users_keep_their_bucket_as_the_percentage_grows() -> None:
    base = FlagState("va_online_scheduling_vaos_service_requests")
    previous = np.zeros(POPULATION.size, dtype=bool)
    for pct in (0.0, 1.0, 5.0, 25.0, 50.0, 75.0, 100.0):
        on = flag_lanes(1, POPULATION, 256, base.at(pct)) == ON
        assert np.all(on[previous])
        share = on.mean()
        assert abs(share - pct / 100) <= 4 * np.sqrt(0.25 / POPULATION.size)
        previous = on


def test_flags_with_one_bucket_key_share_their_users() -> None:
    a = FlagState("mhv_curated_list_flow", 25.0, bucket_key="sm-launch")
    b = FlagState("mhv_recent_recipients", 25.0, bucket_key="sm-launch")
    c = FlagState("mhv_recent_recipients", 25.0)
    la, lb, lc = (flag_lanes(2, POPULATION, 256, s) for s in (a, b, c))
    assert np.array_equal(la, lb)
    assert not np.array_equal(la, lc)


def test_a_flags_own_bucket_key_reaches_the_simulator() -> None:
    flag = Flag("mhv_recent_recipients", bucket_key="mhv_curated_list_flow")
    assert FlagState.from_flag(flag, SEGMENTS).bucket_key == "mhv_curated_list_flow"
    assert FlagState.from_flag(Flag("x"), SEGMENTS).bucket_key is None
    assert FlagState.from_flag(flag, SEGMENTS, bucket_key="k").bucket_key == "k"


def test_eligibility_keeps_other_users_unexposed() -> None:
    lanes = flag_lanes(3, POPULATION, 256, FlagState("uae", 20.0, eligibility=ORACLE))
    users = population_users(3, POPULATION, 256)
    ehr = np.array([p.get("ehr") for p in users.properties])
    assert np.all(lanes[ehr == "vista"] == NOT_EXPOSED)
    eligible = lanes[np.isin(ehr, ["oracle", "dual"])]
    assert np.all(eligible >= OFF)
    assert 0.15 < (eligible == ON).mean() < 0.25


@pytest.mark.parametrize(
    ("flag", "match"),
    [
        (Flag("f", expression={"Equal": [1, 1]}), "assigns by"),
        (Flag("f", groups=("admins",)), "assigns by"),
        (Flag("f", percentage_of_time=Percentage.parse(10)), "assigns by"),
        (Flag("f", eligibility="nobody"), "'nobody' is not defined"),
    ],
)
def test_gates_the_simulator_cannot_follow_are_refused(flag: Flag, match: str) -> None:
    with pytest.raises(InvalidScenario, match=match):
        FlagState.from_flag(flag, SEGMENTS)


def test_a_percentage_outside_0_to_100_is_refused() -> None:
    with pytest.raises(InvalidScenario, match="percentage"):
        FlagState("f", 100.5)


@pytest.mark.parametrize(
    ("percentage", "first", "second"),
    [(1.0, OFF, OFF), (10.0, OFF, ON), (50.0, ON, ON)],
)
def test_bucketing_is_pinned_for_known_actors(
    percentage: float, first: int, second: int
) -> None:
    # Flipper's crc32("flag" + id) % 100_000: 30401 for sim-7-0, 3863 for sim-7-1.
    ids = population_ids(7, POPULATION)
    assert ids[2:4] == ("sim-7-0", "sim-7-1")
    assert [bucket("flag", [a]) for a in ids[2:4]] == [30401, 3863]
    lanes = flag_lanes(7, POPULATION, 256, FlagState("flag", percentage))
    assert (lanes[2], lanes[3]) == (first, second)
