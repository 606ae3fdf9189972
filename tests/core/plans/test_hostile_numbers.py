"""Every value YAML can hold, anywhere a number or a duration goes: a clear error
with file:line, never a trace, and `plan show`'s timeline never overflows."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.plans import PlanInvalid, lint, load_plan, project
from tests.core.plans.sample import BASE

_AUDIENCE = "audience: {eligible: oracle}"
_START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)

#: (where, the text a value replaces, the template with {v} for the value)
SLOTS = [
    ("percentage", "percentage: 5\n", "percentage: {v}\n"),
    ("holdback", _AUDIENCE,
     _AUDIENCE + "\n    holdback: {v}\n    holdback_until: go_live"),
    ("limit", "below: 5, mde: 1, severity: critical}\n        go_no_go",
     "below: {v}, mde: 1, severity: critical}\n        go_no_go"),
    ("mde", "below: 5, mde: 1, severity: critical}\n        go_no_go",
     "below: 5, mde: {v}, severity: critical}\n        go_no_go"),
    ("alpha", "hold: 2h\n        criteria:\n          - {kind: count",
     "hold: 2h\n        alpha: {v}\n        criteria:\n          - {kind: count"),
    ("count-below", "below: 2, severity: high", "below: {v}, severity: high"),
    ("min_sample", "hold: 1d\n", "hold: 1d\n        min_sample: {v}\n"),
    ("users_per_day", "users_per_day: 48000", "users_per_day: {v}"),
    ("requests_per_minute", "requests_per_minute: 2000", "requests_per_minute: {v}"),
]  # fmt: skip
LINES = {
    "percentage": 25, "holdback": 23, "limit": 28, "mde": 28, "alpha": 33,
    "count-below": 34, "min_sample": 39, "users_per_day": 6,
    "requests_per_minute": 6,
}  # fmt: skip
NON_FINITE = [".nan", ".NaN", ".inf", "-.inf", "+.INF", "1e400", "!!float .nan"]


def _with(slot: str, value: str) -> str:
    _, old, template = next(s for s in SLOTS if s[0] == slot)
    assert old in BASE
    return BASE.replace(old, template.replace("{v}", value), 1)


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("slot", [s[0] for s in SLOTS])
def test_non_finite_numbers_are_refused_at_their_line(slot: str, value: str) -> None:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(_with(slot, value), "plan.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("plan.yaml", LINES[slot])
    assert "finite" in problem.message or "whole number" in problem.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3000000d", "'3000000d' is over the longest duration, 2 years"),
        ("731d", "'731d' is over the longest duration, 2 years"),
        ("99999999999999999999h", "is over the longest duration"),
    ],
)
def test_durations_beyond_two_years_are_refused(value: str, message: str) -> None:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(BASE.replace("hold: 1d", f"hold: {value}"), "plan.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 38 and message in problem.message


def test_two_years_is_the_longest_hold() -> None:
    plan = load_plan(BASE.replace("hold: 1d", "hold: 730d"), "plan.yaml").plan
    assert project(plan, _START).finish == _START + dt.timedelta(days=730, hours=4)


def test_counts_beyond_a_trillion_are_refused() -> None:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(_with("min_sample", "10000000000000"), "plan.yaml")
    assert "10000000000000 is above 1000000000000" in str(caught.value)


_NUMBERS = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from([*NON_FINITE, "0", "-0", "1e-300", "0.0001", "100.0005"]),
)


@settings(max_examples=150, deadline=None)
@given(slot=st.sampled_from([s[0] for s in SLOTS]), value=_NUMBERS)
def test_any_number_loads_or_is_refused_and_a_loaded_plan_shows(
    slot: str, value: str
) -> None:
    text = _with(slot, value.replace("nan", ".nan").replace("inf", ".inf"))
    try:
        loaded = load_plan(text, "plan.yaml")
    except PlanInvalid as exc:
        assert all(p.line >= 1 for p in exc.problems)
        return
    lint(loaded)
    timeline = project(loaded.plan, _START)
    assert timeline.finish >= _START
