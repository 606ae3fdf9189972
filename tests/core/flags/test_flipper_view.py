"""The Flipper view of a flag: known answers, and the same answers as flagramp."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import (
    Actor,
    Evaluator,
    Flag,
    Percentage,
    Segment,
    flipper_view,
)
from flagramp.core.flags.flipper_view import HAS_ACTOR
from flagramp.core.flags.percentage import ZERO
from flagramp.core.types import Json

SEGMENTS = {
    "oracle": Segment.from_rules("oracle", ["ehr in [oracle]"]),
    "oracle_or_cerner": Segment.from_rules(
        "oracle_or_cerner", ["ehr in [oracle, cerner]"]
    ),
    "seniors": Segment.from_rules("seniors", ["age >= 65"]),
    "not_vista": Segment.from_rules("not_vista", ["ehr != vista"]),
    "old_oracle": Segment.from_rules("old_oracle", ["ehr == oracle", "age > 70"]),
    "nulls": Segment.from_rules("nulls", ["ehr == null"]),
}

ID: Json = {"Property": ["flipper_id"]}
ID_TEXT: Json = {"String": [ID]}
EHR: Json = {"Property": ["ehr"]}
PLAN_IS_BASIC: dict[str, Json] = {"Equal": [{"Property": ["plan"]}, "basic"]}
OLDER_THAN_40: dict[str, Json] = {"GreaterThan": [{"Property": ["age"]}, 40]}


def pct(text: str) -> Percentage:
    return Percentage.from_flipper(text)


#: (flag, expected expression, expected percentage_of_actors of the view)
KNOWN: dict[str, tuple[Flag, Json, Percentage | None]] = {
    # The example, to the byte.
    "eligibility-with-25-percent": (
        Flag("f", eligibility="oracle", percentage_of_actors=pct("25")),
        {
            "All": [
                {"Equal": [EHR, "oracle"]},
                {"PercentageOfActors": [ID, 25]},
            ]
        },
        ZERO,
    ),
    "decimal-percentage-is-a-json-number": (
        Flag("f", eligibility="oracle", percentage_of_actors=pct("12.5")),
        {"All": [{"Equal": [EHR, "oracle"]}, {"PercentageOfActors": [ID, 12.5]}]},
        ZERO,
    ),
    "in-list-is-any-of-equals": (
        Flag("f", eligibility="oracle_or_cerner", boolean=True),
        {"Any": [{"Equal": [EHR, "oracle"]}, {"Equal": [EHR, "cerner"]}]},
        None,
    ),
    "two-rules-and-actors": (
        Flag("f", eligibility="old_oracle", actors=("User;1", "User;2")),
        {
            "All": [
                {"Equal": [EHR, "oracle"]},
                {"GreaterThan": [{"Property": ["age"]}, 70]},
                {
                    "Any": [
                        {"Equal": [ID_TEXT, "User;1"]},
                        {"Equal": [ID_TEXT, "User;2"]},
                    ]
                },
            ]
        },
        None,
    ),
    "deny-list-with-percentage-needs-an-actor": (
        Flag("f", denied_actors=("bad",), percentage_of_actors=pct("30")),
        {
            "All": [
                {"NotEqual": [ID_TEXT, "bad"]},
                {"All": [HAS_ACTOR, {"PercentageOfActors": [ID, 30]}]},
            ]
        },
        ZERO,
    ),
    "deny-list-with-boolean": (
        Flag("f", denied_actors=("bad", ""), boolean=True),
        {"All": [{"NotEqual": [ID_TEXT, "bad"]}, {"NotEqual": [ID, ""]}]},
        None,
    ),
    "percentage-of-time-draws-a-float": (
        Flag("f", eligibility="oracle", percentage_of_time=pct("12.5")),
        {"All": [{"Equal": [EHR, "oracle"]}, {"LessThan": [{"Random": []}, 0.125]}]},
        None,
    ),
    "group-becomes-its-rule": (
        Flag("f", denied_actors=("bad",), groups=("seniors", "ghosts")),
        {
            "All": [
                {"NotEqual": [ID_TEXT, "bad"]},
                {"GreaterThanOrEqualTo": [{"Property": ["age"]}, 65]},
            ]
        },
        None,
    ),
    "expression-kept-inside": (
        Flag(
            "f",
            eligibility="oracle",
            expression=PLAN_IS_BASIC,
        ),
        {
            "All": [
                {"Equal": [EHR, "oracle"]},
                {"Equal": [{"Property": ["plan"]}, "basic"]},
            ]
        },
        None,
    ),
}


@pytest.mark.parametrize(("flag", "expression", "poa"), KNOWN.values(), ids=list(KNOWN))
def test_additions_are_served_as_one_expression(
    flag: Flag, expression: Json, poa: Percentage | None
) -> None:
    view = flipper_view(flag, SEGMENTS)
    assert view.flag.expression == expression
    assert view.flag.percentage_of_actors == poa
    assert (view.flag.boolean, view.flag.actors, view.flag.groups) == (False, (), ())
    assert (view.flag.denied_actors, view.flag.eligibility) == ((), None)
    assert view.flag.state == "conditional"
    assert "Flipper before 1.1" in {d.clients for d in view.differences}


def test_a_flag_without_additions_is_served_as_it_is_and_exactly() -> None:
    flag = Flag(
        "f",
        actors=("User;1",),
        groups=("seniors",),
        percentage_of_actors=pct("25.0"),
        percentage_of_time=pct("0"),
        expression={"Equal": [EHR, "oracle"]},
        description="kept out of the view",
    )
    view = flipper_view(flag, SEGMENTS)
    assert view.flag == flag.with_changes(description="")
    assert view.is_exact


@pytest.mark.parametrize(
    "flag",
    [
        Flag("f", eligibility="undefined", boolean=True),
        Flag("f", eligibility="oracle"),
        Flag("f", denied_actors=("bad",), percentage_of_actors=pct("0")),
        Flag("f", denied_actors=("bad",), groups=("ghosts",)),
    ],
    ids=["undefined-segment", "no-gate", "zero-percent", "unregistered-group"],
)
def test_a_flag_off_for_everyone_is_served_off_and_exactly(flag: Flag) -> None:
    view = flipper_view(flag, SEGMENTS)
    assert view.flag.state == "off"
    assert view.flag.expression is None
    assert view.is_exact


def test_a_rule_with_null_cannot_be_expressed_so_ruby_is_given_off() -> None:
    view = flipper_view(Flag("f", eligibility="nulls", boolean=True), SEGMENTS)
    assert view.flag.state == "off"
    (difference,) = view.differences
    assert difference.clients == "every Flipper version"
    assert "ehr == null" in difference.reason


def test_rules_ruby_reads_differently_are_named() -> None:
    ne = flipper_view(Flag("f", eligibility="not_vista", boolean=True), SEGMENTS)
    assert any("is null" in d.reason for d in ne.differences)
    order = flipper_view(Flag("f", eligibility="seniors", boolean=True), SEGMENTS)
    assert any(d.clients == "Flipper 1.1 to 1.4.2" for d in order.differences)


def test_explain_repeats_the_differences() -> None:
    evaluator = Evaluator(SEGMENTS, VirtualClock(), lambda: 0.5)
    flag = Flag("f", denied_actors=("bad",), boolean=True)
    result = evaluator.explain(flag, [Actor("bad")])
    assert (result.enabled, result.gate) == (False, "deny")
    assert result.ruby_differences == flipper_view(flag, SEGMENTS).differences
    assert evaluator.explain(Flag("g", boolean=True)).ruby_differences == ()


# --- the view gives flagramp's answer ----------------------------------------

segment_names = st.sampled_from([*SEGMENTS, "undefined"])
ids = st.sampled_from(["User;1", "User;2", "", "bad", "José", "u/1"])
percentages = st.sampled_from(["0", "1", "12.5", "25", "50.0", "99.999", "100"])


@st.composite
def flags(draw: st.DrawFn) -> Flag:
    return Flag(
        key=draw(st.sampled_from(["search", "uae_oracle_routing", "a"])),
        boolean=draw(st.booleans()),
        actors=tuple(draw(st.lists(ids, max_size=2, unique=True))),
        groups=tuple(draw(st.lists(segment_names, max_size=2, unique=True))),
        expression=draw(st.none() | st.just(PLAN_IS_BASIC) | st.just(OLDER_THAN_40)),
        percentage_of_actors=draw(st.none() | percentages.map(pct)),
        percentage_of_time=draw(st.none() | percentages.map(pct)),
        denied_actors=tuple(draw(st.lists(ids, max_size=2, unique=True))),
        eligibility=draw(st.none() | segment_names),
    )


properties = st.dictionaries(
    st.sampled_from(["ehr", "age", "plan"]),
    st.sampled_from(["oracle", "cerner", "vista", "basic", "", 30, 66, 71, 70.5]),
)
actors = st.none() | st.builds(Actor, ids, properties)


@settings(max_examples=400, deadline=None)
@given(flag=flags(), actor=actors, draw=st.sampled_from([0.0, 0.124, 0.5, 0.999]))
def test_the_view_answers_as_flagramp_for_one_actor_or_none(
    flag: Flag, actor: Actor | None, draw: float
) -> None:
    evaluator = Evaluator(SEGMENTS, VirtualClock(), lambda: draw)
    view = flipper_view(flag, SEGMENTS)
    checked: list[Actor] = [] if actor is None else [actor]
    assert evaluator.is_enabled(view.flag, checked) == evaluator.is_enabled(
        flag, checked
    ), _describe(view.flag.expression)


def _describe(expression: Any) -> str:
    return f"served expression: {expression}"
