"""A small valid plan that the tests break one way at a time."""

from __future__ import annotations

#: Line numbers matter: the bad-plan table names them.
BASE = """\
name: demo
title: Demo release
owner: eng
product_owner: po
environment: production
traffic: {users_per_day: 48000, requests_per_minute: 2000}
roles:
  eng: {people: [eng@va.gov], signs: [go_no_go, prerequisite, kill_switch, revert]}
  po: {people: [po@va.gov], signs: [go_no_go, re-enable]}
segments:
  oracle: ["ehr in [oracle, dual]"]
flags:
  new_flow: {create: true}
prerequisites:
  - {text: QA passed in staging, signed_by: eng}
metrics:
  error_rate: {kind: ratio, numerator: request_failed, denominator: request}
  calls: {kind: count, event: contact_center_call}
phases:
  - name: Rollout
    flags: [new_flow]
    audience: {eligible: oracle}
    stages:
      - name: Canary
        percentage: 5
        hold: 2h
        criteria:
          - {kind: absolute, metric: error_rate, below: 5, mde: 1, severity: critical}
        go_no_go: [eng, po]
      - name: Half
        percentage: 50
        hold: 2h
        criteria:
          - {kind: count, metric: calls, below: 2, severity: high}
        go_no_go: [eng, po]
      - name: All
        percentage: 100
        hold: 1d
        criteria:
          - {kind: absolute, metric: error_rate, below: 5, mde: 1, severity: critical}
rollback:
  severities:
    critical: {action: disable_all}
    high: {action: step_back, revert_required: true}
  re-enable: {approved_by: [po]}
  kill_switch: [eng]
  revert_confirmed_by: [eng]
events:
  request: {kind: request}
  contact_center_call: {kind: business}
"""
