"""Issue 19's table: plan mistakes an engine would trip over, each caught by
validate (an error) or lint (a warning), at its file:line."""

from __future__ import annotations

import pytest

from flagramp.core.plans import Level, PlanInvalid, Problem, lint, load_plan
from tests.core.plans.sample import BASE

_AUDIENCE = "audience: {eligible: oracle}"
_UAT_AUDIENCE = "audience: {eligible: oracle, allow_list: [tester@va.gov]}"
_CANARY = (
    "{kind: absolute, metric: error_rate, below: 5, mde: 1, severity: critical}\n"
    "        go_no_go"
)
_UAT: list[tuple[str | None, str]] = [
    ("percentage: 5\n", "percentage: 0\n"),
    (_AUDIENCE, _UAT_AUDIENCE),
]


def _canary(criterion: str) -> tuple[str, str]:
    return (_CANARY, criterion + "\n        go_no_go")


#: (id, edits of the sample plan (None: append), level, the problem as printed)
CASES: list[tuple[str, list[tuple[str | None, str]], Level, str]] = [
    ("two-flags-without-shared-users",
     [("  new_flow: {create: true}", "  new_flow: {create: true}\n  old_flow: {}"),
      ("flags: [new_flow]", "flags: [new_flow, old_flow]")],
     Level.WARNING,
     "plan.yaml:22:12: phases[0].flags: flags launched together get different "
     "users: each flag buckets on its own key"),
    ("kpi-without-target",
     [(None, "go_live:\n  kpis:\n"
             "    - {name: errors, description: Error rate, metric: error_rate}\n")],
     Level.ERROR,
     "plan.yaml:53:7: go_live.kpis[0]: a KPI needs a target: give exactly one of "
     "`below` or `above`"),
    ("question-without-person-or-query",
     [(None, "go_live:\n  questions: [How did it go?]\n")],
     Level.ERROR,
     "plan.yaml:52:15: go_live.questions[0]: a question needs `answered_by` (a "
     "role) or `query` (a metric)"),
    ("rollback-mode-with-low-severity",
     [("below: 2, severity: high}", "below: 2, severity: low, mode: rollback}"),
      ("    high: {action: step_back, revert_required: true}\n",
       "    high: {action: step_back, revert_required: true}\n"
       "    low: {action: continue}\n")],
     Level.ERROR,
     "plan.yaml:34:73: phases[0].stages[1].criteria[0].mode: rollback mode with "
     "severity 'low', whose action is continue: nothing would roll back"),
    ("no-re-enable-approver",
     [("  re-enable: {approved_by: [po]}\n", "")],
     Level.ERROR,
     "plan.yaml:42:3: rollback: name who approves re-enabling: the policy can take "
     "users off the feature"),
    ("absolute-criterion-acting-at-uat", _UAT,
     Level.ERROR,
     "plan.yaml:28:13: phases[0].stages[0].criteria[0].mode: criteria at a UAT "
     "stage never act on their own: they are shown to the go/no-go"),
    ("baseline-criterion-at-uat",
     [*_UAT, _canary("{kind: relative_to_baseline, metric: error_rate, "
                     "max_increase: 0, mde: 1, severity: high, mode: observe}")],
     Level.ERROR,
     "plan.yaml:28:13: phases[0].stages[0].criteria[0]: relative_to_baseline needs "
     "randomised users; allow-listed UAT users never enter a comparison"),
    ("hold-longer-than-window",
     [(_AUDIENCE, _AUDIENCE + "\n    window: {start: 2026-03-02, end: 2026-03-02}")],
     Level.ERROR,
     "plan.yaml:39:15: phases[0].stages[2].hold: the holds up to this stage take "
     "1.17 days, longer than the window 2026-03-02 to 2026-03-02 (1 day)"),
    ("min-users-beyond-statistics",
     [_canary("{kind: new_error_class, min_users: 12, severity: critical}")],
     Level.ERROR,
     "plan.yaml:28:48: phases[0].stages[0].criteria[0].min_users: min_users 12 is "
     "beyond what the statistics support: at most 10 (past it the rule is too "
     "weak to act on and switches off)"),
    ("misspelt-event-in-a-metric",
     [("numerator: request_failed", "numerator: requst_failed")],
     Level.ERROR,
     "plan.yaml:17:40: metrics.error_rate.numerator: event 'requst_failed' is not "
     "declared under `events`"),
    ("absolute-criterion-on-a-count-metric",
     [_canary("{kind: absolute, metric: calls, below: 5, mde: 1, "
              "severity: critical}")],
     Level.ERROR,
     "plan.yaml:28:38: phases[0].stages[0].criteria[0].metric: absolute cannot "
     "test 'calls', a count metric"),
    ("no-backup-but-restore-on-no-go",
     [(None, "environments: [{name: production}]\npromotion:\n  steps:\n"
             "    - {environment: production, backup: false, go_no_go: [eng]}\n")],
     Level.ERROR,
     "plan.yaml:54:41: promotion.steps[0].backup: no backup is taken, so a No-Go "
     "has nothing to restore"),
    ("later-phase-lowers-an-earlier-phases-flag",
     [("rollback:\n",
       "  - name: Again\n    flags: [new_flow]\n    stages:\n"
       "      - {name: Quarter, percentage: 25, hold: 1d, go_no_go: [po]}\n"
       "rollback:\n")],
     Level.ERROR,
     "plan.yaml:44:37: phases[1].stages[0].percentage: flag 'new_flow' is at 100 % "
     "after phase 'Rollout'; starting here at 25 % would take it away from users "
     "who have it"),
    ("stage-alpha-above-0.2",
     [("hold: 2h\n        criteria:\n          - {kind: count",
       "hold: 2h\n        alpha: 0.3\n        criteria:\n          - {kind: count")],
     Level.ERROR,
     "plan.yaml:33:16: phases[0].stages[1].alpha: 0.3 is above 0.2"),
]  # fmt: skip


def problems_of(text: str) -> tuple[Problem, ...]:
    """The plan's errors, or its warnings if it loads."""
    try:
        return tuple(lint(load_plan(text, "plan.yaml")))
    except PlanInvalid as exc:
        return exc.problems


def edited(edits: list[tuple[str | None, str]]) -> str:
    """The sample plan with each edit applied once (None appends)."""
    text = BASE
    for old, new in edits:
        if old is None:
            text += new
        else:
            assert old in text, old
            text = text.replace(old, new, 1)
    return text


@pytest.mark.parametrize(
    ("edits", "level", "expected"),
    [pytest.param(e, lv, x, id=name) for name, e, lv, x in CASES],
)
def test_plan_mistake_is_caught_at_its_line(
    edits: list[tuple[str | None, str]], level: Level, expected: str
) -> None:
    found = {str(p): p for p in problems_of(edited(edits))}
    assert expected in found, sorted(found)
    assert found[expected].level is level


def test_the_sample_plan_has_none_of_these_mistakes() -> None:
    assert problems_of(BASE) == ()
