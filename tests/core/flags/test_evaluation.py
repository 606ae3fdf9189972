"""Gate order, flagramp's rules, and `explain` naming the deciding gate."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flagramp.core.flags import Actor, Evaluator, Flag, Percentage
from flagramp.core.flags import operations as ops

ORACLE = Actor("veteran-1072@va.gov", {"ehr": "oracle", "age": 70})
VISTA = Actor("veteran-1004@va.gov", {"ehr": "vista", "age": 40})
KEY = "va_online_scheduling_facilities_service_v2"  # veteran-1072 is bucket 189


def pct(text: str) -> Percentage:
    return Percentage.parse(text)


@pytest.mark.parametrize(
    ("flag", "actors", "enabled", "gate"),
    [
        (Flag(KEY), [ORACLE], False, "default"),
        (Flag(KEY, boolean=True), [ORACLE], True, "boolean"),
        (Flag(KEY, boolean=True), [], True, "boolean"),
        (Flag(KEY, actors=("veteran-1072@va.gov",)), [ORACLE], True, "actor"),
        (Flag(KEY, actors=("someone-else",)), [ORACLE], False, "default"),
        (
            Flag(KEY, percentage_of_actors=pct("1")),
            [ORACLE],
            True,
            "percentage_of_actors",
        ),
        (Flag(KEY, percentage_of_actors=pct("0.189")), [ORACLE], False, "default"),
        (Flag(KEY, percentage_of_actors=pct("100")), [], False, "default"),
        (Flag(KEY, percentage_of_time=pct("100")), [], True, "percentage_of_time"),
        (Flag(KEY, percentage_of_time=pct("0")), [ORACLE], False, "default"),
        (Flag(KEY, groups=("oracle_health",)), [ORACLE], True, "group"),
        (Flag(KEY, groups=("oracle_health",)), [VISTA], False, "default"),
        (Flag(KEY, groups=("not_registered",)), [ORACLE], False, "default"),
        # boolean is checked before actors: the first open gate in Flipper's order
        (
            Flag(KEY, boolean=True, actors=("veteran-1072@va.gov",)),
            [ORACLE],
            True,
            "boolean",
        ),
        (
            Flag(KEY, actors=("veteran-1072@va.gov",), percentage_of_actors=pct("50")),
            [ORACLE],
            True,
            "actor",
        ),
        (
            Flag(
                KEY,
                expression={"Equal": [{"Property": ["ehr"]}, "oracle"]},
                actors=("veteran-1072@va.gov",),
            ),
            [ORACLE],
            True,
            "expression",
        ),
        # flagramp's rules come first
        (
            Flag(KEY, boolean=True, denied_actors=("veteran-1072@va.gov",)),
            [ORACLE],
            False,
            "deny",
        ),
        (
            Flag(KEY, boolean=True, eligibility="oracle_health"),
            [VISTA],
            False,
            "eligibility",
        ),
        (
            Flag(KEY, boolean=True, eligibility="oracle_health"),
            [ORACLE],
            True,
            "boolean",
        ),
        (
            Flag(KEY, boolean=True, eligibility="undefined_segment"),
            [ORACLE],
            False,
            "eligibility",
        ),
        (
            Flag(KEY, boolean=True, eligibility="oracle_health"),
            [],
            False,
            "eligibility",
        ),
    ],
)
def test_the_first_open_gate_decides(
    evaluator: Evaluator, flag: Flag, actors: list[Actor], enabled: bool, gate: str
) -> None:
    result = evaluator.explain(flag, actors)
    assert (result.enabled, result.gate) == (enabled, gate)
    assert evaluator.is_enabled(flag, actors) is enabled
    assert result.reason


def test_explain_gives_the_bucket_when_percentage_says_no(evaluator: Evaluator) -> None:
    flag = Flag(KEY, percentage_of_actors=pct("0.1"))
    result = evaluator.explain(flag, [ORACLE])
    assert result.reason == "bucket 189 of 100000 is not below 0.1% (100)"


def test_expression_without_actor_sees_no_properties(evaluator: Evaluator) -> None:
    flag = Flag(KEY, expression={"Equal": [{"Property": ["ehr"]}, "oracle"]})
    assert evaluator.explain(flag, []).enabled is False
    always = Flag(KEY, expression={"Equal": [1, 1]})
    assert evaluator.explain(always, []).enabled is True


def test_several_actors_use_the_combined_bucket(evaluator: Evaluator) -> None:
    # Flipper ≥ 0.28: bucket of "search" + sorted ids joined = 56225
    flag = Flag("search", percentage_of_actors=pct("56.226"))
    actors = [Actor("User;2"), Actor("User;10"), Actor("User;2")]
    assert evaluator.explain(flag, actors).enabled is True
    lower = flag.with_changes(percentage_of_actors=pct("56.225"))
    assert evaluator.explain(lower, actors).enabled is False


def test_a_compiled_flag_reads_the_clock_at_check_time() -> None:
    import datetime as dt

    from flagramp.core.clock import VirtualClock
    from tests.core.flags.conftest import SEGMENTS

    clock = VirtualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    evaluator = Evaluator(SEGMENTS, clock, lambda: 0.5)
    flag = Flag(
        KEY,
        expression={"GreaterThanOrEqualTo": [{"Now": []}, {"Time": ["2026-02-01"]}]},
    )
    compiled = evaluator.compile(flag)
    assert compiled.is_enabled("a") is False
    clock.advance(dt.timedelta(days=31))
    assert compiled.is_enabled("a") is True


@pytest.mark.parametrize(
    ("change", "expected_state"),
    [
        (ops.enable, "on"),
        (ops.disable, "off"),
        (lambda f: ops.set_percentage_of_actors(f, pct("25")), "conditional"),
        (lambda f: ops.set_percentage_of_time(f, pct("100")), "on"),
        (ops.disable_percentage_of_actors, "off"),
        (lambda f: ops.add_actor(f, "a"), "conditional"),
    ],
)
def test_flipper_state_summary(
    change: Callable[[Flag], Flag], expected_state: str
) -> None:
    assert change(Flag("x")).state == expected_state


def test_enable_clears_other_gates_but_keeps_flagramp_rules() -> None:
    flag = Flag(
        "x",
        actors=("a",),
        percentage_of_actors=pct("25"),
        denied_actors=("d",),
        eligibility="oracle_health",
        description="why this flag exists",
    )
    enabled = ops.enable(flag)
    assert enabled.boolean and not enabled.actors
    assert enabled.percentage_of_actors is None
    assert enabled.denied_actors == ("d",)
    assert enabled.eligibility == "oracle_health"
    assert enabled.description == "why this flag exists"
