"""One test per validation rule of the plan semantics: each edit of the sample
plan breaks one rule, and the error names the place to fix."""

from __future__ import annotations

import pytest

from tests.core.plans.test_plan_mistakes import (
    _AUDIENCE,
    _UAT,
    _canary,
    edited,
    problems_of,
)

Edit = tuple[str | None, str]

_RATIO = "{kind: ratio, numerator: request_failed, denominator: request}"
_LAST = (
    "          - {kind: absolute, metric: error_rate, below: 5, mde: 1, "
    "severity: critical}\nrollback"
)
_ROLLBACK = (
    "rollback:\n  severities:\n    critical: {action: disable_all}\n"
    "    high: {action: step_back, revert_required: true}\n"
    "  re-enable: {approved_by: [po]}\n  kill_switch: [eng]\n"
    "  revert_confirmed_by: [eng]\n"
)
_HIGH = "    high: {action: step_back, revert_required: true}"
_HALF_GATE = "go_no_go: [eng, po]\n      - name: Half"
_BASELINE = (
    "{kind: relative_to_baseline, metric: error_rate, max_increase: 0, mde: 1, "
    "severity: high}"
)


def _metric(line: str) -> Edit:
    """Add a metric before `calls`."""
    return ("  calls: {kind", f"  {line}\n  calls: {{kind")


def _ratio(definition: str) -> Edit:
    return (_RATIO, definition)


RULES: list[tuple[str, list[Edit], str]] = [
    ("uat-needs-go-no-go",
     [*_UAT, (_HALF_GATE, "record: {}\n      - name: Half")],
     "plan.yaml:24:9: phases[0].stages[0].go_no_go: a UAT stage (0 %, allow list "
     "only) moves on by go/no-go only"),
    ("control-at-100-without-holdback",
     [(_LAST, "          - {kind: relative_to_control, metric: error_rate, "
              "max_increase: 0.5, mde: 0.5, severity: high}\nrollback")],
     "plan.yaml:40:13: phases[0].stages[2].criteria[0]: relative_to_control needs "
     "a control group, and at 100 % with no holdback none is left"),
    ("percent-tolerance-against-control",
     [_canary("{kind: relative_to_control, metric: error_rate, max_increase: 10, "
              "unit: percent, mde: 10, severity: high}")],
     "plan.yaml:28:85: phases[0].stages[0].criteria[0].unit: a percent tolerance "
     "needs a known reference; control is itself measured, so compare with "
     "control in points"),
    ("criterion-on-a-quantile",
     [_metric("p95: {kind: quantile, event: request, value: latency_ms, q: 0.95}"),
      _canary("{kind: absolute, metric: p95, below: 2000, mde: 500, "
              "severity: high}")],
     "plan.yaml:29:38: phases[0].stages[0].criteria[0].metric: absolute cannot "
     "test 'p95', a quantile metric"),
    ("quantile-from-a-query",
     [_metric("p95: {kind: quantile, event: request, value: latency_ms, q: 0.95, "
              "source: {kind: prometheus, query: q}}")],
     "plan.yaml:18:77: metrics.p95.source: a quantile metric needs users or values "
     "that a query does not give; push the events instead"),
    ("query-ratio-without-denominator",
     [_ratio("{kind: ratio, source: {kind: datadog, "
             "query: 'sum:errors{*} by {variant}'}}")],
     "plan.yaml:17:37: metrics.error_rate.source.denominator_query: a ratio read "
     "from a query needs `denominator_query`"),
    ("query-metric-that-names-events",
     [_ratio("{kind: ratio, numerator: request_failed, source: {kind: datadog, "
             "query: a, denominator_query: b}}")],
     "plan.yaml:17:40: metrics.error_rate.numerator: a metric read from a query "
     "takes no `numerator`; the query says what it counts"),
    ("pushed-ratio-without-denominator",
     [_ratio("{kind: ratio, numerator: request_failed}")],
     "plan.yaml:17:15: metrics.error_rate.denominator: is required"),
    ("event-without-actor-in-a-share",
     [("  contact_center_call: {kind: business}",
       "  contact_center_call: {kind: business, actor: false}"),
      _metric("callers: {kind: share_of_users, event: contact_center_call}")],
     "plan.yaml:18:42: metrics.callers.event: event 'contact_center_call' has no "
     "actor, so only a count can use it"),
    ("request-value-that-requests-lack",
     [_metric("slow: {kind: share_above, event: request, value: duration, "
              "threshold: 2000}")],
     "plan.yaml:18:52: metrics.slow.value: a request has no value 'duration'"),
    ("holdback-without-its-release",
     [(_AUDIENCE, _AUDIENCE + "\n    holdback: 5")],
     "plan.yaml:23:15: phases[0].holdback: say when the held-back users get the "
     "feature"),
    ("release-without-a-holdback",
     [(_AUDIENCE, _AUDIENCE + "\n    holdback_until: go_live")],
     "plan.yaml:23:21: phases[0].holdback_until: there is no holdback to release"),
    ("release-at-a-checkpoint-that-does-not-exist",
     [(_AUDIENCE,
       _AUDIENCE + "\n    holdback: 5\n    holdback_until: last_checkpoint")],
     "plan.yaml:24:21: phases[0].holdback_until: last_checkpoint needs "
     "go_live.checkpoints"),
    ("baseline-of-pushed-events-without-collection",
     [_canary(_BASELINE)],
     "plan.yaml:28:50: phases[0].stages[0].criteria[0].metric: a baseline needs "
     "'error_rate' from before the run, and its events are pushed"),
    ("baseline-longer-than-the-collection",
     [_ratio("{kind: ratio, numerator: request_failed, denominator: request, "
             "source: {kind: pushed, collected_since: 2026-02-27}}"),
      (_AUDIENCE, _AUDIENCE + "\n    window: {start: 2026-03-02}"),
      _canary(_BASELINE)],
     "plan.yaml:29:13: phases[0].stages[0].criteria[0].baseline.window: events "
     "collected since 2026-02-27 do not fill a 7d baseline before 2026-03-02"),
    ("revert-without-a-confirmer",
     [("  revert_confirmed_by: [eng]\n", "")],
     "plan.yaml:44:48: rollback.severities.high.revert_required: name who confirms "
     "the revert is deployed"),
    ("quorum-above-the-people-of-a-role",
     [(_HALF_GATE, "go_no_go: {roles: [eng, po], quorum: 2}\n      - name: Half")],
     "plan.yaml:29:46: phases[0].stages[0].go_no_go.quorum: a quorum of 2 needs 2 "
     "people in role 'eng', which has 1"),
    ("alert-in-rollback-mode-whose-severity-continues",
     [(None, "alerts:\n  - {source: datadog, tag: 'service:x', severity: high, "
             "mode: rollback}\n"),
      (_HIGH, "    high: {action: continue}")],
     "plan.yaml:52:63: alerts[0].mode: rollback mode with severity 'high', whose "
     "action is continue: nothing would roll back"),
    ("alert-for-a-phase-that-does-not-exist",
     [(None, "alerts:\n  - {source: alertmanager, name: HighErrors, "
             "severity: high, phases: [Nope]}\n")],
     "plan.yaml:52:71: alerts[0].phases[0]: 'Nope' is not a rollout phase of the "
     "plan"),
    ("alert-matched-two-ways",
     [(None, "alerts:\n  - {source: datadog, name: a, tag: b, severity: high}\n")],
     "plan.yaml:52:5: alerts[0]: match an alert by exactly one of `name` or `tag`"),
    ("notification-to-an-unknown-role",
     [(None, "notifications:\n  - {email: [eng, ops]}\n")],
     "plan.yaml:52:19: notifications[0].email[1]: role 'ops' is not defined under "
     "`roles`"),
    ("time-zone-that-does-not-exist",
     [(_AUDIENCE, _AUDIENCE + "\n    time_of_day: {start: '22:00', end: '06:00', "
                              "timezone: Mars/Olympus}")],
     "plan.yaml:23:59: phases[0].time_of_day.timezone: 'Mars/Olympus' is not a "
     "time zone"),
    ("rollout-without-a-rollback-policy",
     [(_ROLLBACK, "")],
     "plan.yaml:1:1: rollback: is required: the plan has rollout phases"),
    ("nothing-to-run",
     [("phases:\n", "x-phases:\n")],
     "plan.yaml:1:1: a plan needs rollout phases, a promotion, or both"),
    ("new-errors-of-an-event-that-is-not-a-request",
     [_canary("{kind: new_error_class, event: contact_center_call, "
              "severity: critical}")],
     "plan.yaml:28:44: phases[0].stages[0].criteria[0].event: "
     "'contact_center_call' is not a request event; error fingerprints come with "
     "requests"),
    ("old-spelling-of-re-enable",
     [("  re-enable: {approved_by: [po]}", "  reenable_approved_by: [po]")],
     "plan.yaml:45:3: rollback.reenable_approved_by: unknown field "
     "`reenable_approved_by`"),
    ("alpha-on-a-criterion",
     [_canary("{kind: absolute, metric: error_rate, below: 5, mde: 1, "
              "alpha: 0.01, severity: critical}")],
     "plan.yaml:28:68: phases[0].stages[0].criteria[0].alpha: unknown field "
     "`alpha`"),
    ("criterion-without-an-mde",
     [_canary("{kind: absolute, metric: error_rate, below: 5, severity: critical}")],
     "plan.yaml:28:13: phases[0].stages[0].criteria[0].mde: is required"),
    ("follow-up-without-a-person",
     [(None, "go_live:\n  questions:\n    - {text: Any issues?, answered_by: po, "
             "follow_up: {text: Which?}}\n")],
     "plan.yaml:53:55: go_live.questions[0].follow_up: a question needs "
     "`answered_by` (a role) or `query` (a metric)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edits", "expected"), [pytest.param(e, x, id=n) for n, e, x in RULES]
)
def test_rule(edits: list[Edit], expected: str) -> None:
    assert expected in [str(p) for p in problems_of(edited(edits))]


@pytest.mark.parametrize(
    ("field", "hint"),
    [
        ("reenable_approved_by", "write `re-enable: {approved_by: [...]}`"),
        ("alpha", "α is set per stage (stages[].alpha, default 0.05)"),
    ],
)
def test_renamed_fields_say_what_to_write(field: str, hint: str) -> None:
    edits: list[Edit] = (
        [("  re-enable: {approved_by: [po]}", "  reenable_approved_by: [po]")]
        if field == "reenable_approved_by"
        else [_canary("{kind: absolute, metric: error_rate, below: 5, mde: 1, "
                      "alpha: 0.01, severity: critical}")]
    )  # fmt: skip
    (problem,) = problems_of(edited(edits))
    assert problem.hint.startswith(hint)
