"""`diff` names each change; weakening changes to a running plan are flagged."""

from __future__ import annotations

import pytest

from flagramp.core.plans import Plan, diff, load_plan
from tests.core.plans.sample import BASE


def _plan(text: str = BASE) -> Plan:
    return load_plan(text, "plan.yaml").plan


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("title: Demo release", "title: Demo v2",
         "- plan: title changed from 'Demo release' to 'Demo v2'"),
        ("percentage: 50", "percentage: 40",
         "- phase 'Rollout', stage 'Half': percentage 50 → 40"),
        ("hold: 1d", "hold: 2d", "- phase 'Rollout', stage 'All': hold 1d → 2d"),
        ("below: 2, severity: high", "below: 3, severity: high",
         "- phase 'Rollout', stage 'Half': criterion changed: calls fewer than 2 per "
         "stage (high, pause) → calls fewer than 3 per stage (high, pause)"),
        ("below: 5, mde: 1, severity: critical}\n        go_no_go",
         "below: 5, mde: 2, severity: critical}\n        go_no_go",
         "- phase 'Rollout', stage 'Canary': criterion changed: error_rate below 5 "
         "(critical, pause): mde 1 → 2"),
        ("  calls: {kind",
         "  callers: {kind: share_of_users, event: contact_center_call}\n"
         "  calls: {kind",
         "- metrics: added 'callers'"),
        ("re-enable: {approved_by: [po]}",
         "re-enable: {approved_by: [po], resume_at: first_stage}",
         "- rollback: re-enable changed"),
        ("hold: 2h\n        criteria:\n          - {kind: count",
         "hold: 2h\n        alpha: 0.1\n        criteria:\n          - {kind: count",
         "- phase 'Rollout', stage 'Half': alpha 0.05 → 0.1"),
        ("high: {action: step_back, revert_required: true}", "high: {action: continue}",
         "- rollback: high: step_back → continue"),
        ("- {text: QA passed in staging, signed_by: eng}",
         "- {text: QA passed in production, signed_by: eng}",
         "- prerequisites: added 'QA passed in production'"),
        ("eligible: oracle", "eligible: oracle, allow_list: [a@va.gov]",
         "- phase 'Rollout': audience {eligible: oracle} → {eligible: oracle, "
         "allow_list: [a@va.gov]}"),
    ],
)  # fmt: skip
def test_diff_names_each_change(old: str, new: str, expected: str) -> None:
    changes = diff(_plan(), _plan(BASE.replace(old, new, 1)))
    assert expected in [str(c) for c in changes]


def test_identical_plans_have_no_changes() -> None:
    assert diff(_plan(), _plan()) == []


def test_removing_a_criterion_is_flagged() -> None:
    text = BASE.replace(
        "        criteria:\n"
        "          - {kind: count, metric: calls, below: 2, severity: high}\n",
        "",
    )
    changes = diff(_plan(), _plan(text))
    flagged = [str(c) for c in changes if c.flagged]
    assert flagged == [
        "! phase 'Rollout', stage 'Half': criterion removed: calls fewer than 2 per "
        "stage (high, pause)  [removing a criterion lets through what it used to "
        "stop]"
    ]


def test_lowering_below_a_passed_stage_is_flagged() -> None:
    text = BASE.replace("percentage: 50", "percentage: 4")
    text = text.replace("percentage: 5\n", "percentage: 3\n")
    unpassed = diff(_plan(), _plan(text))
    assert not any(c.flagged for c in unpassed)
    changes = diff(_plan(), _plan(text), passed=[("Rollout", "Canary")])
    flagged = [str(c) for c in changes if c.flagged]
    assert flagged == [
        "! phase 'Rollout', stage 'Canary': percentage 3 is below passed stage "
        "'Canary' (5 %)  [the revision would turn the flag off for users who have it]",
        "! phase 'Rollout', stage 'Half': percentage 4 is below passed stage "
        "'Canary' (5 %)  [the revision would turn the flag off for users who have it]",
    ]


def test_raising_a_percentage_after_a_passed_stage_is_not_flagged() -> None:
    text = BASE.replace("percentage: 50", "percentage: 60")
    changes = diff(_plan(), _plan(text), passed=[("Rollout", "Canary")])
    assert [str(c) for c in changes] == [
        "- phase 'Rollout', stage 'Half': percentage 50 → 60"
    ]


def test_removing_a_passed_stage_is_flagged() -> None:
    start = BASE.index("      - name: Canary")
    end = BASE.index("      - name: Half")
    text = BASE[:start] + BASE[end:]
    changes = diff(_plan(), _plan(text), passed=[("Rollout", "Canary")])
    flagged = [c for c in changes if c.flagged]
    assert [c.reason for c in flagged] == [
        "removes its 1 criteria; the run already passed it"
    ]
