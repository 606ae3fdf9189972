"""Linter warnings: each rule fires on the plan that breaks it, and only then."""

from __future__ import annotations

import pytest

from flagramp.core.plans import DetectabilityQuery, detectability, lint, load_plan
from tests.core.plans.sample import BASE

_AUDIENCE = "audience: {eligible: oracle}"
_CONTROL = (
    "{kind: relative_to_control, metric: error_rate, max_increase: 0.5, mde: 0.5, "
    "severity: critical}"
)
_HALF_CRITERIA = (
    "        criteria:\n"
    "          - {kind: count, metric: calls, below: 2, severity: high}\n"
)
_ERRORS = "{kind: absolute, metric: error_rate, below: 5, mde: 1, severity: critical}"
_NEW_ERRORS = (
    "{kind: new_error_class, min_users: 3, fingerprints: 20, severity: critical}"
)
_HALF = "percentage: 50"

CASES = [
    ("no-criteria", _HALF_CRITERIA, "",
     "plan.yaml:30:9: phases[0].stages[1]: stage 'Half' has no success criteria"),
    ("placeholder-lorem", "title: Demo release", "title: lorem ipsum",
     "plan.yaml:2:8: title: placeholder text 'lorem ipsum' left in 'lorem ipsum'"),
    ("placeholder-x", "title: Demo release", "title: x",
     "plan.yaml:2:8: title: placeholder text 'x' left in 'x'"),
    ("placeholder-date", "text: QA passed in staging", "text: QA passed on mm/dd/yy",
     "plan.yaml:15:12: prerequisites[0].text: placeholder text 'mm/dd/yy' left in "
     "'QA passed on mm/dd/yy'"),
    ("placeholder-tbd", "title: Demo release", "title: Demo TBD",
     "plan.yaml:2:8: title: placeholder text 'TBD' left in 'Demo TBD'"),
    ("placeholder-link", "title: Demo release", "title: '[link here]'",
     "plan.yaml:2:8: title: placeholder text 'link here' left in '[link here]'"),
    ("hold-too-short", "hold: 2h\n        criteria:\n          - {kind: absolute",
     "hold: 2h\n        min_sample: 1000\n"
     "        criteria:\n          - {kind: absolute",
     "plan.yaml:26:15: phases[0].stages[0].hold: hold 2h reaches about 200 of the "
     "1,000 users needed at 48000 users/day and 5 %"),
    ("no-go-no-go-before-100", "        go_no_go: [eng, po]\n      - name: All",
     "      - name: All",
     "plan.yaml:30:9: phases[0].stages[1]: no go/no-go before 100 %: stage 'Half' "
     "moves on by itself"),
    ("new-error-rule-off", "percentage: 50\n        hold: 2h\n        criteria:\n"
     "          - {kind: count, metric: calls, below: 2, severity: high}",
     "percentage: 75\n        hold: 2h\n        criteria:\n          - " + _NEW_ERRORS,
     "plan.yaml:34:13: phases[0].stages[1].criteria[0]: the new-error rule switches "
     "off at a treatment share of 0.75: with F = 20 fingerprints and α = 0.045 it "
     "would need 22 users (at most 10)"),
    ("unused-flag", "  new_flow: {create: true}",
     "  new_flow: {create: true}\n  spare: {}",
     "plan.yaml:14:10: flags.spare: flag 'spare' is declared but no phase uses it"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [pytest.param(old, new, exp, id=name) for name, old, new, exp in CASES],
)
def test_lint_warns(old: str, new: str, expected: str) -> None:
    assert old in BASE
    warnings = lint(load_plan(BASE.replace(old, new, 1), "plan.yaml"))
    assert expected in [str(w) for w in warnings]
    assert all(w.level.value == "warning" for w in warnings)


def test_sample_plan_lints_clean() -> None:
    assert lint(load_plan(BASE, "plan.yaml")) == []


def test_control_criterion_at_100_with_a_holdback_lints_clean() -> None:
    text = BASE.replace(
        f"          - {_ERRORS}\nrollback:",
        f"          - {_CONTROL}\nrollback:",
    ).replace(_AUDIENCE, _AUDIENCE + "\n    holdback: 5\n    holdback_until: go_live")
    assert lint(load_plan(text, "plan.yaml")) == []


def test_new_error_rule_holds_alpha_at_a_small_share() -> None:
    text = BASE.replace(
        _ERRORS + "\n        go_no_go",
        _NEW_ERRORS + "\n        go_no_go",
        1,
    )
    assert lint(load_plan(text, "plan.yaml")) == []  # 20 · 0.05³ = 0.0025 ≤ 0.01


def test_flag_already_fully_on() -> None:
    loaded = load_plan(BASE, "plan.yaml")
    assert lint(loaded, {"new_flow": 40}) == []
    assert [str(w) for w in lint(loaded, {"new_flow": 100})] == [
        "plan.yaml:21:13: phases[0].flags[0]: flag 'new_flow' is already on for "
        "everyone"
    ]


def test_a_detectability_function_warns_where_a_stage_cannot_catch_its_mde() -> None:
    asked: list[DetectabilityQuery] = []

    def effect(query: DetectabilityQuery) -> float | None:
        asked.append(query)
        # A made-up power rule: the effect shrinks with the share.
        return 0.1 / query.share

    loaded = load_plan(BASE, "plan.yaml")
    warnings = [str(w) for w in lint(loaded, detectable_effect=effect)]
    assert warnings == [
        "plan.yaml:28:13: phases[0].stages[0].criteria[0]: stage 'Canary' can detect "
        "about 2 within its hold; this criterion must catch 1"
    ]
    # Only the tests are asked about (the count limit is not), with their share,
    # hold, α share, β and mde in the plan's units.
    assert [
        (q.stage, q.comparison, q.share, q.hold_minutes, q.alpha) for q in asked
    ] == [
        ("Canary", "absolute", 0.05, 120, 0.05),
        ("All", "absolute", 1.0, 1440, 0.05),
    ]
    assert {(q.mde, q.percent, q.beta, q.requests_per_minute) for q in asked} == {
        (1.0, True, 0.1, 2000.0)
    }
    rows = detectability(loaded.plan, effect)
    assert [r.catches_mde for r in rows] == [False, True]
