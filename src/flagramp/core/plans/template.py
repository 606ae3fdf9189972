"""The template `flagramp plan new` writes: VA's usual ladder, ready to edit.

Canary first (about 500 users, at most 10 %), then 25, 50, 75 and 100 %, each held
at least two hours, with go/no-go before every step up. The template validates
and lints clean as written, so a team starts from a plan that works.
"""

from __future__ import annotations

import math

from flagramp.core.plans.percentages import show_number

#: Users a canary should reach, and the most it may take.
CANARY_USERS = 500
CANARY_MAX = 10.0
#: Hours each stage holds at least.
HOLD_HOURS = 2
#: Eligible users kept off at 100 %, so comparisons keep a control.
HOLDBACK = 5.0


def canary_percentage(users_per_day: int | None) -> float:
    """The canary share reaching about 500 users in its 2 h hold, at most 10 %."""
    if not users_per_day:
        return 5.0
    users_in_hold = users_per_day * HOLD_HOURS / 24
    wanted = CANARY_USERS / users_in_hold * 100
    # Round up to 3 significant digits so the canary reaches at least 500 users.
    digits = max(0, min(3, 2 - math.floor(math.log10(wanted)))) if wanted > 0 else 0
    scale = 10**digits
    return float(min(CANARY_MAX, math.ceil(wanted * scale) / scale))


def canary_hold(users_per_day: int | None, percentage: float, holdback: float) -> str:
    """The canary's hold: 2 h, or as many whole hours as 500 users need."""
    if not users_per_day:
        return f"{HOLD_HOURS}h"
    per_hour = users_per_day / 24 * percentage / 100 * (1 - holdback / 100)
    return f"{max(HOLD_HOURS, math.ceil(CANARY_USERS / per_hour))}h"


def new_plan(
    name: str = "my-release",
    flag: str = "my_feature_toggle",
    users_per_day: int = 20_000,
    schema_url: str = "plan.schema.json",
) -> str:
    """The YAML text of a new plan for one flag."""
    percentage = canary_percentage(users_per_day)
    return _TEMPLATE.format(
        canary_hold=canary_hold(users_per_day, percentage, HOLDBACK),
        holdback=show_number(HOLDBACK),
        name=name,
        flag=flag,
        users_per_day=users_per_day,
        canary=show_number(percentage),
        schema_url=schema_url,
        rpm=max(1, users_per_day // 100),
    )


_TEMPLATE = """\
# yaml-language-server: $schema={schema_url}
# A release plan for flagramp. `flagramp plan validate` checks it,
# `flagramp plan lint` warns about likely mistakes, `flagramp plan show`
# projects the timeline. See docs/plans.md.
name: {name}
title: Release {flag}
owner: eng_lead
product_owner: product_owner
environment: production
traffic:
  users_per_day: {users_per_day}
  requests_per_minute: {rpm}

roles:
  eng_lead:
    people: [eng.lead@example.gov]
    signs: [go_no_go, prerequisite, kill_switch, revert]
  product_owner:
    people: [product.owner@example.gov]
    signs: [go_no_go, prerequisite, re-enable]

flags:
  {flag}: {{create: true, description: The feature being released}}

prerequisites:
  - text: The feature passed QA in staging
    signed_by: eng_lead
  - text: The product owner approved the launch
    signed_by: product_owner

# The events the application sends (the SDK middleware sends `request`; a
# failed request also counts as `request_failed`).
events:
  request: {{kind: request, description: A request the feature serves}}

metrics:
  error_rate:
    kind: ratio
    numerator: request_failed
    denominator: request
    description: Failed requests per request, in percent
    typical: 1

# Shared criteria: YAML anchors keep every stage in step.
x-criteria:
  - &errors_vs_control
    kind: relative_to_control
    metric: error_rate
    max_increase: 0.5
    # The smallest harm beyond the margin the stages must catch: `plan lint`
    # shows what each stage can detect at the traffic above.
    mde: 1
    severity: high
    mode: rollback
  - &errors_absolute
    kind: absolute
    metric: error_rate
    below: 5
    mde: 2
    severity: critical
    mode: rollback
"""
_TEMPLATE += """
phases:
  - name: Staged rollout
    flags: [{flag}]
    holdback: {holdback}   # kept off at 100 % so comparisons still have a control
    holdback_until: go_live
    stages:
      - name: Canary
        percentage: {canary}   # about 500 users, at most 10 %
        hold: {canary_hold}
        min_sample: 500
        criteria: [*errors_vs_control, *errors_absolute]
        go_no_go: [eng_lead, product_owner]
        record:
          metrics: [error_rate]
          questions:
            - {{text: Types of errors logged, answered_by: eng_lead}}
            - text: Was any downstream service affected by the change?
              answered_by: eng_lead
              yes_no: true
      - name: 25 percent
        percentage: 25
        hold: 2h
        criteria: [*errors_vs_control, *errors_absolute]
        go_no_go: [eng_lead, product_owner]
        record: {{metrics: [error_rate]}}
      - name: 50 percent
        percentage: 50
        hold: 2h
        criteria: [*errors_vs_control, *errors_absolute]
        go_no_go: [eng_lead, product_owner]
        record: {{metrics: [error_rate]}}
      - name: 75 percent
        percentage: 75
        hold: 2h
        criteria: [*errors_vs_control, *errors_absolute]
        go_no_go: [eng_lead, product_owner]
        record: {{metrics: [error_rate]}}
      - name: 100 percent
        percentage: 100
        # Only the holdback is left as control: a day lets it speak.
        hold: 1d
        criteria: [*errors_vs_control, *errors_absolute]
        record: {{metrics: [error_rate]}}

rollback:
  severities:
    critical: {{action: disable_all}}
    high: {{action: step_back, revert_required: true}}
    low: {{action: continue}}
  re-enable:
    approved_by: [product_owner]
    resume_at: previous_stage
    after_step_back: approval
  revert_confirmed_by: [eng_lead]
  kill_switch: [eng_lead]

go_live:
  kpis:
    - name: errors
      description: Error rate stays below 1 %
      metric: error_rate
      below: 1
  checkpoints:
    - name: 1 week
      after: 1w
      record:
        questions:
          - text: Any issues with VA handling/processing?
            answered_by: product_owner
            follow_up: {{text: "If yes, what", answered_by: product_owner}}
    - name: 1 month
      after: 1mo
  questions:
    - text: >-
        How do the KPIs you gathered compare to your pre-launch
        definition(s) of "success"?
      answered_by: product_owner
"""
