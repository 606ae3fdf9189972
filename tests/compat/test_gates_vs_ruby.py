"""Gate order, boolean, actors, groups and percentage_of_time, against Ruby Flipper.

Each scenario is a list of changes applied both to Ruby Flipper 0.25.4 (Memory
adapter) and to a flagramp `Flag` (through `flagramp.core.flags.operations`); then
every actor of a shared pool is checked on both sides. Ruby's deciding gate is read
from its instrumentation payload (`gate_name`). Ruby groups are registered blocks
(`actor.ehr == "oracle"`, `actor.age >= 65`); flagramp's are the same rules as
segments.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.core.flags.flipper_format import flag_from_gates, flag_to_gates
from tests.compat.ruby_peer import RubyPeer

SEGMENTS = {
    "oracle": Segment.from_rules("oracle", ["ehr == oracle"]),
    "seniors": Segment.from_rules("seniors", ["age >= 65"]),
}

#: The actors every scenario is checked for; None is a check without an actor.
POOL: list[dict[str, Any] | None] = [
    None,
    {"id": "User;1", "props": {}},
    {"id": "User;2", "props": {"ehr": "oracle"}},
    {"id": "User;3", "props": {"ehr": "vista"}},
    {"id": "User;4", "props": {"ehr": "oracle", "age": 70}},
    {"id": "User;5", "props": {"ehr": "vista", "age": 65}},
    {"id": "User;6", "props": {"age": 64}},
    {"id": "User;7", "props": {"age": "70"}},
    {"id": "", "props": {"ehr": "oracle"}},
    {"id": "José", "props": {"ehr": "ORACLE"}},
] + [
    {"id": f"User;{n}", "props": {"ehr": "oracle" if n % 2 else "vista"}}
    for n in range(100, 160)
]

Change = tuple[str, Any]

SCENARIOS: dict[str, list[Change]] = {
    "never-set": [("add", None)],
    "boolean-on": [("enable", None)],
    "boolean-on-then-off": [("enable", None), ("disable", None)],
    "boolean-clears-other-gates": [
        ("enable_actor", "User;1"),
        ("enable_percentage_of_actors", 25),
        ("enable_group", "oracle"),
        ("enable", None),
    ],
    "clear": [("enable_actor", "User;1"), ("enable_group", "oracle"), ("clear", None)],
    "actors": [("enable_actor", "User;1"), ("enable_actor", "")],
    "actor-removed": [
        ("enable_actor", "User;1"),
        ("enable_actor", "User;3"),
        ("disable_actor", "User;1"),
    ],
    "group-oracle": [("enable_group", "oracle")],
    "group-seniors": [("enable_group", "seniors")],
    "group-unregistered-never-matches": [("enable_group", "ghosts")],
    "group-removed": [
        ("enable_group", "oracle"),
        ("enable_group", "seniors"),
        ("disable_group", "oracle"),
    ],
    "poa-100": [("enable_percentage_of_actors", 100)],
    "poa-disabled-writes-zero": [
        ("enable_percentage_of_actors", 25),
        ("disable_percentage_of_actors", None),
    ],
    "pot-0": [("enable_percentage_of_time", 0)],
    "pot-100": [("enable_percentage_of_time", 100)],
    "pot-disabled": [
        ("enable_percentage_of_time", 100),
        ("disable_percentage_of_time", None),
    ],
    "order-actor-before-poa-before-group": [
        ("enable_group", "oracle"),
        ("enable_percentage_of_actors", 50),
        ("enable_actor", "User;2"),
        ("enable_actor", "User;101"),
        ("enable_actor", "User;102"),
    ],
    "order-poa-before-pot-0-before-group": [
        ("enable_group", "seniors"),
        ("enable_percentage_of_time", 0),
        ("enable_percentage_of_actors", 33.333),
    ],
    "order-pot-100-before-group": [
        ("enable_group", "oracle"),
        ("enable_percentage_of_time", 100),
        ("enable_actor", "User;3"),
    ],
    "order-everything-but-boolean": [
        ("enable_actor", "User;110"),
        ("enable_group", "oracle"),
        ("enable_group", "seniors"),
        ("enable_percentage_of_actors", 12.5),
        ("enable_percentage_of_time", 0),
    ],
}


def apply(flag: Flag, changes: list[Change]) -> Flag:
    """The same changes through flagramp's pure operations."""
    for name, arg in changes:
        if name == "add":
            continue
        elif name == "enable":
            flag = ops.enable(flag)
        elif name == "disable":
            flag = ops.disable(flag)
        elif name == "clear":
            flag = ops.clear(flag)
        elif name == "enable_actor":
            flag = ops.add_actor(flag, arg)
        elif name == "disable_actor":
            flag = ops.remove_actor(flag, arg)
        elif name == "enable_group":
            flag = ops.add_group(flag, arg)
        elif name == "disable_group":
            flag = ops.remove_group(flag, arg)
        elif name == "enable_percentage_of_actors":
            flag = ops.set_percentage_of_actors(flag, Percentage.parse(arg))
        elif name == "disable_percentage_of_actors":
            flag = ops.disable_percentage_of_actors(flag)
        elif name == "enable_percentage_of_time":
            flag = ops.set_percentage_of_time(flag, Percentage.parse(arg))
        elif name == "disable_percentage_of_time":
            flag = ops.set_percentage_of_time(flag, Percentage.parse(0))
        else:  # pragma: no cover - a typo in the table
            raise AssertionError(name)
    return flag


def evaluator() -> Evaluator:
    # The draw is irrelevant at 0 and 100 %, the only deterministic pot values.
    return Evaluator(SEGMENTS, VirtualClock(), random.Random(3).random)


def to_actor(entry: dict[str, Any] | None) -> list[Actor]:
    return [] if entry is None else [Actor(entry["id"], entry["props"])]


@pytest.fixture(scope="module")
def ruby_answers(ruby: RubyPeer) -> dict[str, dict[str, Any]]:
    return {
        name: ruby.call("scenario", feature=name, ops=changes, actors=POOL)
        for name, changes in SCENARIOS.items()
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_stored_gate_values_match_ruby(
    ruby_answers: dict[str, dict[str, Any]], scenario: str
) -> None:
    flag = apply(Flag(key=scenario), SCENARIOS[scenario])
    ours = flag_to_gates(flag)
    assert ours.pop("expression") is None  # 0.25 has no expression gate
    theirs = ruby_answers[scenario]["gates"]
    assert list(ours.items()) == list(theirs.items())
    assert flag_from_gates(scenario, theirs) == flag


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_state_matches_ruby(
    ruby_answers: dict[str, dict[str, Any]], scenario: str
) -> None:
    flag = apply(Flag(key=scenario), SCENARIOS[scenario])
    assert flag.state == ruby_answers[scenario]["state"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_actor_gets_rubys_answer_and_deciding_gate(
    ruby_answers: dict[str, dict[str, Any]], scenario: str
) -> None:
    flag = apply(Flag(key=scenario), SCENARIOS[scenario])
    ev = evaluator()
    check = ev.compile(flag).is_enabled
    mismatches = []
    for entry, theirs in zip(POOL, ruby_answers[scenario]["checks"], strict=True):
        explained = ev.explain(flag, to_actor(entry))
        fast = check() if entry is None else check(entry["id"], entry["props"])
        ruby_gate = theirs["gate"] or "default"
        if (fast, explained.enabled, explained.gate) != (
            theirs["enabled"],
            theirs["enabled"],
            ruby_gate,
        ):
            mismatches.append(
                f"{entry}: ruby {theirs['enabled']} by {ruby_gate}; flagramp "
                f"{fast} (compiled), {explained.enabled} by {explained.gate}"
            )
    assert not mismatches, mismatches


def test_the_order_scenarios_are_decided_by_several_different_gates(
    ruby_answers: dict[str, dict[str, Any]],
) -> None:
    gates = {
        check["gate"]
        for name, answer in ruby_answers.items()
        if name.startswith("order-")
        for check in answer["checks"]
    }
    assert gates == {
        None,
        "actor",
        "percentage_of_actors",
        "percentage_of_time",
        "group",
    }
