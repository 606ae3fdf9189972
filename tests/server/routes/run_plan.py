"""A small plan for the runs routes: one flag, two stages with a go/no-go
between them, a prerequisite, and roles held by two people."""

from __future__ import annotations

ENG = "eng@va.gov"
PO = "po@va.gov"
FLAG = "new_flow"

PLAN = """\
name: small
title: A small release
owner: eng
product_owner: po
environment: production
traffic: {users_per_day: 48000, requests_per_minute: 2000}
roles:
  eng: {people: [eng@va.gov], signs: [go_no_go, prerequisite, kill_switch, revert]}
  po: {people: [po@va.gov], signs: [go_no_go, re-enable]}
flags:
  new_flow: {create: true}
prerequisites:
  - {text: QA passed in staging, signed_by: eng}
metrics:
  error_rate: {kind: ratio, numerator: request_failed, denominator: request}
phases:
  - name: Rollout
    flags: [new_flow]
    stages:
      - name: Canary
        percentage: 5
        hold: 1h
        criteria:
          - {kind: absolute, metric: error_rate, below: 5, mde: 1, severity: critical}
        go_no_go: [eng, po]
      - name: All
        percentage: 100
        hold: 1h
        criteria:
          - {kind: absolute, metric: error_rate, below: 5, mde: 1, severity: critical}
rollback:
  severities:
    critical: {action: disable_all}
  re-enable: {approved_by: [po]}
  kill_switch: [eng]
  revert_confirmed_by: [eng]
events:
  request: {kind: request}
"""
