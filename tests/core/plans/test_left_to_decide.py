"""A `TBD` value (what `plan import-markdown` writes for a blank) is reported as
left to decide wherever it stands, and a plan that does not load yet still lists
its placeholders."""

from __future__ import annotations

import pytest

from flagramp.core.plans import PlanInvalid, Problem, load_plan
from flagramp.core.plans.lint import unloaded_placeholders
from tests.core.plans.sample import BASE


def _problems(text: str) -> list[Problem]:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(text)
    return list(caught.value.problems)


CASES = [
    # A typed field (a duration, a percentage, a list, a mapping): a field error.
    ("hold", "hold: 2h", "hold: TBD",
     "plan.yaml:26:15: phases[0].stages[0].hold: 'TBD' is left to decide",
     "hold: 2h  (30m, 1h, 2d, 1w, 1mo)"),
    ("percentage", "percentage: 50", "percentage: TBD",
     "plan.yaml:31:21: phases[0].stages[1].percentage: 'TBD' is left to decide",
     "percentage: 25"),
    ("roles", "roles:\n  eng:", "roles: TBD\nx-unused:\n  eng:",
     "plan.yaml:7:8: roles: 'TBD' is left to decide",
     "roles: {eng_lead: {people: [you@example.gov], signs: [go_no_go]}}"),
    # A name that must resolve: a check across fields, once the fields are valid.
    ("owner", "owner: eng", "owner: TBD",
     "plan.yaml:3:8: owner: 'TBD' is left to decide", "use one of eng, po"),
    ("metric", "criteria:\n          - {kind: count, metric: calls",
     "criteria:\n          - {kind: count, metric: TBD",
     "plan.yaml:34:35: phases[0].stages[1].criteria[0].metric: 'TBD' is left to "
     "decide", "metrics: calls, error_rate"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "expected", "hint"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_tbd_is_reported_as_left_to_decide(
    old: str, new: str, expected: str, hint: str
) -> None:
    assert old in BASE
    problems = _problems(BASE.replace(old, new, 1))
    assert [str(p) for p in problems] == [expected]
    assert problems[0].hint == hint


def test_other_wrong_values_keep_their_own_messages() -> None:
    problems = _problems(BASE.replace("hold: 2h", "hold: soon", 1))
    assert "is not a duration" in problems[0].message


def test_a_plan_that_does_not_load_still_lists_its_placeholders() -> None:
    text = BASE.replace("hold: 2h", "hold: TBD", 1).replace(
        "title: Demo release", "title: TBD"
    )
    errors = _problems(text)
    warnings = unloaded_placeholders(text, "plan.yaml", errors)
    # The title is text (a placeholder); the hold is already an error, once.
    assert [str(w) for w in warnings] == [
        "plan.yaml:2:8: title: placeholder text 'TBD' left in 'TBD'"
    ]
    assert {w.level.value for w in warnings} == {"warning"}


def test_placeholders_of_text_that_is_not_yaml_are_none() -> None:
    assert unloaded_placeholders("a: [unclosed", "plan.yaml", []) == []
