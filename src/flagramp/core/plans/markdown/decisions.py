"""What each TBD asks a person to decide, by the field it stands in."""

from __future__ import annotations

from collections.abc import Mapping

DECIDE: Mapping[str, str] = {
    "name": "a short name for the plan: letters, digits, - and _",
    "title": "the plan's title",
    "owner": "the role that owns the plan (a key under roles)",
    "product_owner": "the product owner's role (a key under roles)",
    "users_per_day": "eligible users a day; plan lint sizes the stages with it",
    "requests_per_minute": "requests a minute from the eligible users",
    "roles": "the roles: each one's people (accounts) and what it signs "
    "(prerequisite, go_no_go, re-enable, revert, kill_switch)",
    "flags": "the toggles the phases turn on (the document names none)",
    "flag.description": "what the toggle does",
    "events": "the events the application sends ({name: {kind: request}}); "
    "metrics may read only these",
    "metrics": "the metrics the criteria test, over those events "
    "(ratio, count, share_of_users, share_above, mean, quantile, unique_actors)",
    "signed_by": "the role that signs it (a role that signs prerequisite)",
    "phase.name": "the phase's name",
    "phase.flags": "the toggles this phase turns on",
    "window.start": "the first day the phase may run (YYYY-MM-DD)",
    "window.end": "the last day (YYYY-MM-DD), or remove `end`",
    "audience": "how access is limited, in words",
    "monitored_by": "the roles that watch the dashboards",
    "dashboard.title": "the dashboard's title",
    "dashboard.url": "the dashboard's address (https://…), or remove it",
    "stage.name": "the stage's name (the document gives this phase no stage)",
    "percentage": "the share of eligible users, 0-100 (never below the stage before)",
    "hold": "how long the stage holds at least: 30m, 2h, 1d, 1w",
    "criteria": "the success criteria: kind, metric, limit, mde (the smallest harm "
    "it must catch), severity, mode; hints are not criteria",
    "record.metrics": "the metrics this stage records (the template's "
    '"Metrics at this stage")',
    "answered_by": "the role that answers, or write `query: <metric>` instead",
    "rollback": "what each severity does: disable_all, step_back or continue, "
    "and who re-enables (the document has no rollback process)",
    "severities": "what each severity does (critical, high, medium, low): "
    "disable_all, step_back or continue",
    "action": "disable_all, step_back or continue",
    "approved_by": "the roles that approve turning the flags back on",
    "revert_confirmed_by": "the roles that confirm a revert is deployed",
    "go_live.date": "the desired go-live date (YYYY-MM-DD)",
    "go_no_go.roles": "the roles asked before the plan's last step to 100 %",
    "kpi.description": "what the KPI measures, in words",
    "kpi.metric": "the metric that measures it",
    "kpi.target": "its target: keep `below: N`, or write `above: N` instead",
    "checkpoint.after": "how long after go live: 1w, 1mo",
}
