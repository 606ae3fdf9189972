"""Bad plans: each is the sample plan broken one way, with the exact problem."""

from __future__ import annotations

import pytest
import yaml

from flagramp.core.plans import PlanInvalid, compose, load_plan
from tests.core.plans.sample import BASE

_PROBE = (
    "promotion:\n  steps:\n    - environment: prod\n      verify:\n"
    "        - {kind: hook, name: smoke, command: rm -rf /}\nrollback:"
)
_AUDIENCE = "audience: {eligible: oracle}"

# (id, text to replace, replacement, expected problem)
CASES = [
    ("percentage-above-100", "percentage: 50", "percentage: 120",
     "plan.yaml:31:21: phases[0].stages[1].percentage: 120 is above 100"),
    ("percentage-below-0", "percentage: 5\n", "percentage: -1\n",
     "plan.yaml:25:21: phases[0].stages[0].percentage: -1 is below 0"),
    ("percentage-decimals", "percentage: 5\n", "percentage: 5.1234\n",
     "plan.yaml:25:21: phases[0].stages[0].percentage: 5.1234 has more than "
     "3 decimals"),
    ("percentages-decrease", "percentage: 50", "percentage: 4",
     "plan.yaml:31:21: phases[0].stages[1].percentage: 4 is below the previous "
     "stage's 5"),
    ("duration-words", "hold: 2h\n        criteria:\n          - {kind: count",
     "hold: 2 hours\n        criteria:\n          - {kind: count",
     "plan.yaml:32:15: phases[0].stages[1].hold: '2 hours' is not a duration; "
     "write 2h"),
    ("duration-number", "hold: 1d", "hold: 24",
     "plan.yaml:38:15: phases[0].stages[2].hold: 24 is not a duration; write it "
     "with a unit, like 2h or 30m"),
    ("missing-hold", "        hold: 1d\n", "",
     "plan.yaml:36:9: phases[0].stages[2].hold: is required"),
    ("unknown-field", "percentage: 100", "percentag: 100",
     "plan.yaml:37:9: phases[0].stages[2].percentag: unknown field `percentag`"),
    ("unknown-criterion-kind", "{kind: count, metric: calls",
     "{kind: counter, metric: calls",
     "plan.yaml:34:13: phases[0].stages[1].criteria[0]: unknown kind 'counter'"),
    ("unknown-metric", "metric: calls", "metric: call",
     "plan.yaml:34:35: phases[0].stages[1].criteria[0].metric: metric 'call' is "
     "not defined under `metrics`"),
    ("count-on-ratio", "metric: calls", "metric: error_rate",
     "plan.yaml:34:35: phases[0].stages[1].criteria[0].metric: a count criterion "
     "needs a count metric; 'error_rate' is a ratio"),
    ("severity-without-action", "below: 2, severity: high",
     "below: 2, severity: low, mode: rollback",
     "plan.yaml:34:62: phases[0].stages[1].criteria[0].severity: severity 'low' "
     "has no action under rollback.severities"),
    ("bad-severity", "below: 2, severity: high", "below: 2, severity: huge",
     "plan.yaml:34:62: phases[0].stages[1].criteria[0].severity: 'huge' is not "
     "one of critical, high, medium or low"),
    ("unknown-role", "go_no_go: [eng, po]\n      - name: All",
     "go_no_go: [eng, pm]\n      - name: All",
     "plan.yaml:35:19: phases[0].stages[1].go_no_go.roles[1]: role 'pm' is not "
     "defined under `roles`"),
    ("role-may-not-sign", "re-enable: {approved_by: [po]}",
     "re-enable: {approved_by: [eng]}",
     "plan.yaml:45:29: rollback.re-enable.approved_by[0]: role 'eng' may not sign "
     "re-enable"),
    ("undeclared-flag", "flags: [new_flow]", "flags: [new_flow, old_flow]",
     "plan.yaml:21:23: phases[0].flags[1]: flag 'old_flow' is not declared under "
     "`flags`"),
    ("unknown-segment", "eligible: oracle", "eligible: cerner",
     "plan.yaml:22:26: phases[0].audience.eligible: segment 'cerner' is not "
     "defined under `segments`"),
    ("bad-segment-rule", '"ehr in [oracle, dual]"', '"ehr in oracle"',
     "plan.yaml:11:11: segments.oracle.rules[0]: `in` takes a list such as "
     "[oracle, cerner]"),
    ("duplicate-stage", "name: Half", "name: Canary",
     "plan.yaml:30:15: phases[0].stages[1].name: 'Canary' is used twice"),
    ("duplicate-key", "  kill_switch: [eng]\n",
     "  kill_switch: [eng]\n  kill_switch: [po]\n",
     "plan.yaml:47:3: duplicate key 'kill_switch' (first written at line 46)"),
    ("no-bound", "below: 2, severity", "severity",
     "plan.yaml:34:13: phases[0].stages[1].criteria[0].below: is required"),
    ("both-bounds", "below: 5, mde: 1, severity: critical}\n        go_no_go",
     "below: 5, above: 1, mde: 1, severity: critical}\n        go_no_go",
     "plan.yaml:28:13: phases[0].stages[0].criteria[0]: give exactly one of "
     "`below` or `above`"),
    ("zero-without-allow-list", "percentage: 5\n", "percentage: 0\n",
     "plan.yaml:25:21: phases[0].stages[0].percentage: 0 % with no allow list "
     "reaches nobody"),
    ("shell-command-in-probe", "rollback:", _PROBE,
     "plan.yaml:45:37: promotion.steps[0].verify[0].command: unknown field "
     "`command`: a plan never carries commands"),
    ("yaml-syntax", "flags: [new_flow]", "flags: [new_flow",
     "plan.yaml:22:13: YAML syntax: did not find expected ',' or ']' (while "
     "parsing a flow sequence)"),
    ("bad-date", _AUDIENCE, _AUDIENCE + "\n    window: {start: 2026-02-30}",
     "plan.yaml:23:21: phases[0].window.start: '2026-02-30' is not a date"),
    ("window-reversed", _AUDIENCE,
     _AUDIENCE + "\n    window: {start: 2026-02-10, end: 2026-02-01}",
     "plan.yaml:23:38: phases[0].window.end: 2026-02-01 is before the start "
     "2026-02-10"),
    ("unknown-owner", "owner: eng", "owner: engineering",
     "plan.yaml:3:8: owner: role 'engineering' is not defined under `roles`"),
    ("max-time-below-hold", "hold: 1d", "hold: 1d\n        max_time: 2h",
     "plan.yaml:39:19: phases[0].stages[2].max_time: 2h is shorter than the hold "
     "of 1d"),
    ("not-a-mapping", "traffic: {users_per_day: 48000, requests_per_minute: 2000}",
     "traffic: lots",
     "plan.yaml:6:10: traffic: expected a mapping (key: value), got 'lots'"),
    ("bad-name", "  calls: {kind", "  Calls Count: {kind",
     "plan.yaml:18:3: metrics.Calls Count: 'Calls Count' is not a valid name"),
    ("holdback-100", _AUDIENCE, _AUDIENCE + "\n    holdback: 100",
     "plan.yaml:23:15: phases[0].holdback: a holdback of 100 leaves nobody to "
     "roll out to"),
    ("time-of-day", _AUDIENCE,
     _AUDIENCE + "\n    time_of_day: {start: '25:00', end: '06:00'}",
     "plan.yaml:23:26: phases[0].time_of_day.start: '25:00' is not a time of day"),
    ("second-document", "name: demo\n", "name: demo\n---\nname: again\n",
     "plan.yaml:2:1: a plan file holds one YAML document; a second one starts here"),
    ("unknown-alias", "eligible: oracle", "eligible: *nowhere",
     "plan.yaml:22:26: alias *nowhere names no anchor defined before it"),
    ("python-tag", "title: Demo release", "title: !!python/object:os.system ls",
     "plan.yaml:2:8: the tag tag:yaml.org,2002:python/object:os.system is not "
     "allowed in a plan"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [pytest.param(old, new, expected, id=name) for name, old, new, expected in CASES],
)
def test_bad_plan_reports_exact_problem_and_line(
    old: str, new: str, expected: str
) -> None:
    assert old in BASE
    with pytest.raises(PlanInvalid) as caught:
        load_plan(BASE.replace(old, new, 1), "plan.yaml")
    rendered = [str(p) for p in caught.value.problems]
    assert expected in rendered
    line = int(expected.split(":")[1])
    assert any(p.line == line for p in caught.value.problems)


def test_sample_plan_is_valid() -> None:
    assert load_plan(BASE, "plan.yaml").plan.name == "demo"


def test_all_problems_are_collected_at_once() -> None:
    text = BASE.replace("percentage: 50", "percentage: 120").replace(
        "hold: 1d", "hold: 1 day"
    )
    with pytest.raises(PlanInvalid) as caught:
        load_plan(text, "plan.yaml")
    assert [p.path for p in caught.value.problems] == [
        "phases[0].stages[1].percentage",
        "phases[0].stages[2].hold",
    ]
    assert "2 problems in the plan" in str(caught.value)


def test_unknown_field_hints_the_closest_name() -> None:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(BASE.replace("percentage: 100", "percentag: 100"), "plan.yaml")
    hints = [p.hint for p in caught.value.problems]
    assert "did you mean `percentage`?" in hints


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "plan.yaml:1:1: the plan is empty"),
        ("- a\n- b\n", "plan.yaml:1:1: the plan is not a mapping of fields"),
        ("name: [a\n", "plan.yaml:2:1: YAML syntax: did not find expected ',' or ']' "
         "(while parsing a flow sequence)"),
    ],
)  # fmt: skip
def test_documents_that_are_not_plans(text: str, expected: str) -> None:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(text, "plan.yaml")
    assert str(caught.value.problems[0]) == expected


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: x\nphases:\n\t- name: a\n", "plan.yaml:3:1"),
        ("name: x\nphases:\n  - name: a\n    \tflags: []\n", "plan.yaml:4:5"),
        ("name: x\r\nphases:\r\n\t- name: a\r\n", "plan.yaml:3:1"),
    ],
    ids=["indent", "after-spaces", "crlf"],
)
@pytest.mark.parametrize("parser", ["libyaml", "pure"])
def test_a_tab_in_the_indentation_is_named_as_a_tab(
    text: str, where: str, parser: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if parser == "pure":
        monkeypatch.setattr(compose, "_Parser", yaml.SafeLoader)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    with pytest.raises(PlanInvalid) as caught:
        load_plan(text, "plan.yaml")
    (problem,) = caught.value.problems
    assert problem.render() == (
        f"{where}: a tab character: YAML indents with spaces only\n"
        "    hint: replace the tab with spaces"
    )
