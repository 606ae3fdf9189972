"""Checks on what surrounds the stages: rollback, promotion, go live, alerts, mail."""

from __future__ import annotations

from flagramp.core.plans.check_criteria import severity
from flagramp.core.plans.check_phases import time_of_day
from flagramp.core.plans.checker import Checker
from flagramp.core.plans.plan import Signature
from flagramp.core.plans.problems import Loc


def check_rollback(checker: Checker) -> None:
    """Whoever must act after a rollback is named and may sign for it."""
    plan = checker.plan
    policy = plan.rollback
    if policy is None:
        if any(True for _ in plan.rollout_phases()):
            checker.add(
                ("rollback",),
                "is required: the plan has rollout phases",
                "rollback: {severities: {critical: {action: disable_all}}}",
            )
        return
    if policy.re_enable is None and (policy.rolls_back or policy.kill_switch):
        checker.add(
            ("rollback",),
            "name who approves re-enabling: the policy can take users off the feature",
            "add re-enable: {approved_by: [<role>]}",
        )
    if policy.re_enable is not None:
        checker.roles(
            ("rollback", "re-enable", "approved_by"),
            policy.re_enable.approved_by,
            Signature.RE_ENABLE,
        )
    needs_revert = [s for s, p in policy.severities.items() if p.revert_required]
    if needs_revert and not policy.revert_confirmed_by:
        checker.add(
            ("rollback", "severities", needs_revert[0].value, "revert_required"),
            "name who confirms the revert is deployed",
            "add rollback.revert_confirmed_by: [<role>]",
        )
    checker.roles(
        ("rollback", "revert_confirmed_by"),
        policy.revert_confirmed_by,
        Signature.REVERT,
    )
    checker.roles(
        ("rollback", "kill_switch"), policy.kill_switch, Signature.KILL_SWITCH
    )
    checker.roles(("rollback", "monitored_by"), policy.monitored_by, None)


def check_promotion(checker: Checker) -> None:
    """Steps go one way through listed environments; a restore has a backup."""
    promotion = checker.plan.promotion
    if promotion is None:
        return
    envs = [e.name for e in checker.plan.environments]
    time_of_day(checker, ("promotion", "time_of_day"), promotion.time_of_day)
    last = -1
    for i, step in enumerate(promotion.steps):
        loc: Loc = ("promotion", "steps", i)
        if step.environment not in envs:
            checker.add(
                (*loc, "environment"),
                f"environment {step.environment!r} is not under `environments`",
                "list the environments in promotion order under `environments`",
            )
        else:
            order = envs.index(step.environment)
            if order <= last:
                checker.add(
                    (*loc, "environment"),
                    f"{step.environment!r} comes before {envs[last]!r} in "
                    "`environments`; promotion goes one way",
                )
            last = order
        for j, item in enumerate(step.checklist):
            if item.role is not None:
                checker.role((*loc, "checklist", j, "role"), item.role)
        checker.gonogo((*loc, "go_no_go"), step.go_no_go)
        restores = step.on_no_go == "restore" and (
            step.go_no_go is not None or "on_no_go" in step.model_fields_set
        )
        if restores and not step.takes_backup:
            checker.add(
                (*loc, "backup"),
                "no backup is taken, so a No-Go has nothing to restore",
                "take a backup, or write on_no_go: stop",
            )
        time_of_day(checker, (*loc, "time_of_day"), step.time_of_day)
        if not isinstance(step.backup, bool):
            checker.timezone((*loc, "backup", "timezone"), step.backup.timezone)


def check_go_live(checker: Checker) -> None:
    """KPIs, checkpoints and questions name metrics and roles that exist."""
    go_live = checker.plan.go_live
    if go_live is None:
        return
    checker.gonogo(("go_live", "go_no_go"), go_live.go_no_go)
    checker.unique(("go_live", "kpis"), [k.name for k in go_live.kpis], "name")
    for i, kpi in enumerate(go_live.kpis):
        checker.metric(("go_live", "kpis", i, "metric"), kpi.metric)
    checkpoints = go_live.checkpoints
    checker.unique(("go_live", "checkpoints"), [c.name for c in checkpoints], "name")
    for i, checkpoint in enumerate(checkpoints):
        checker.record(("go_live", "checkpoints", i, "record"), checkpoint.record)
    checker.questions(("go_live", "questions"), go_live.questions)


def check_alerts(checker: Checker) -> None:
    """Inbound alerts map to severities that act as their mode says."""
    phases = {p.name for _, p in checker.plan.rollout_phases()}
    for i, alert in enumerate(checker.plan.alerts):
        loc: Loc = ("alerts", i)
        severity(checker, loc, alert.severity, alert.mode)
        for j, name in enumerate(alert.phases):
            if name not in phases:
                checker.add(
                    (*loc, "phases", j), f"{name!r} is not a rollout phase of the plan"
                )


def check_notifications(checker: Checker) -> None:
    """Notifications go to roles of the plan."""
    for i, notification in enumerate(checker.plan.notifications):
        checker.roles(("notifications", i, "email"), notification.email, None)
