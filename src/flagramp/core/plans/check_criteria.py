"""Checks on one success criterion at its stage: the metric it can test, the
stage it can run at, and the severity its mode acts on."""

from __future__ import annotations

import datetime as dt

from flagramp.core.plans.checker import Checker
from flagramp.core.plans.criteria import (
    MAX_NEW_ERROR_USERS,
    NEEDS_CONTROL,
    CountCriterion,
    Criterion,
    Mode,
    NewErrorClassCriterion,
    RelativeToBaselineCriterion,
    RelativeToControlCriterion,
    Unit,
)
from flagramp.core.plans.declared_events import EventKind, resolve_event
from flagramp.core.plans.metrics import TESTABLE_KINDS, PushedSource
from flagramp.core.plans.phases import RolloutPhase
from flagramp.core.plans.problems import Loc
from flagramp.core.plans.rollback import Action
from flagramp.core.plans.semantics import is_allow_list_stage, treatment_share
from flagramp.core.plans.stages import Stage
from flagramp.core.severity import Severity

_UNTESTABLE_HINTS = {
    "quantile": "a quantile cannot be tested as it is: define a metric of kind "
    "share_above (the share of requests above a threshold) and test that",
    "count": "use kind: count for a count metric",
    "unique_actors": "a number of users is not a rate; test a share_of_users metric",
}


def check_criterion(
    checker: Checker,
    loc: Loc,
    criterion: Criterion,
    stage: Stage,
    phase: RolloutPhase,
) -> None:
    severity(checker, loc, criterion.severity, criterion.mode)
    if is_allow_list_stage(stage):
        _at_uat_stage(checker, loc, criterion)
    elif criterion.kind in NEEDS_CONTROL and treatment_share(phase, stage) >= 1:
        checker.add(
            loc,
            f"{criterion.kind} needs a control group, and at 100 % with no "
            "holdback none is left",
            "add a holdback to the phase, or use relative_to_baseline here",
        )
    if isinstance(criterion, NewErrorClassCriterion):
        _new_errors(checker, loc, criterion)
        return
    metric_name = criterion.metric
    checker.metric((*loc, "metric"), metric_name)
    metric = checker.plan.metrics.get(metric_name)
    if metric is None:
        return
    kind = metric.metric_kind
    if isinstance(criterion, CountCriterion):
        if kind.value != "count":
            checker.add(
                (*loc, "metric"),
                f"a count criterion needs a count metric; {metric_name!r} is a "
                f"{kind.value}",
                "use kind: absolute, or define a metric with kind: count",
            )
        return
    if kind not in TESTABLE_KINDS:
        checker.add(
            (*loc, "metric"),
            f"{criterion.kind} cannot test {metric_name!r}, a {kind.value} metric",
            _UNTESTABLE_HINTS.get(kind.value, ""),
        )
    if isinstance(criterion, RelativeToControlCriterion) and (
        criterion.unit is Unit.PERCENT
    ):
        checker.add(
            (*loc, "unit"),
            "a percent tolerance needs a known reference; control is itself "
            "measured, so compare with control in points",
            "write unit: points, or compare with the baseline",
        )
    if isinstance(criterion, RelativeToBaselineCriterion):
        _baseline_data(checker, loc, criterion)


def _at_uat_stage(checker: Checker, loc: Loc, criterion: Criterion) -> None:
    if criterion.kind in (
        "relative_to_control",
        "relative_to_baseline",
        "new_error_class",
    ):
        checker.add(
            loc,
            f"{criterion.kind} needs randomised users; allow-listed UAT users "
            "never enter a comparison",
            "use absolute or count criteria, in observe mode, at a UAT stage",
        )
    elif criterion.mode is not Mode.OBSERVE:
        checker.add(
            (*loc, "mode"),
            "criteria at a UAT stage never act on their own: they are shown to "
            "the go/no-go",
            "write mode: observe",
        )


def _new_errors(checker: Checker, loc: Loc, criterion: NewErrorClassCriterion) -> None:
    if criterion.min_users > MAX_NEW_ERROR_USERS:
        checker.add(
            (*loc, "min_users"),
            f"min_users {criterion.min_users} is beyond what the statistics "
            f"support: at most {MAX_NEW_ERROR_USERS} (past it the rule is too weak "
            "to act on and switches off)",
            f"use {MAX_NEW_ERROR_USERS} or fewer",
        )
    if criterion.event is None:
        return
    declared = checker.event((*loc, "event"), criterion.event)
    resolved = resolve_event(checker.plan.events, criterion.event)
    if declared is not None and (
        declared.kind is not EventKind.REQUEST or (resolved and resolved[1])
    ):
        checker.add(
            (*loc, "event"),
            f"{criterion.event!r} is not a request event; error fingerprints "
            "come with requests",
            "name a request event declared with kind: request",
        )


def _baseline_data(
    checker: Checker, loc: Loc, criterion: RelativeToBaselineCriterion
) -> None:
    metric = checker.plan.metrics[criterion.metric]
    if not isinstance(metric.source, PushedSource):
        return  # the same query, over the window before
    since = metric.source.collected_since
    if since is None:
        checker.add(
            (*loc, "metric"),
            f"a baseline needs {criterion.metric!r} from before the run, and its "
            "events are pushed",
            f"give metrics.{criterion.metric}.source.collected_since: the day the "
            "events started arriving",
        )
        return
    first = next((p for _, p in checker.plan.rollout_phases()), None)
    if first is None or first.window is None or criterion.baseline.before != "run":
        return
    ready = since + dt.timedelta(seconds=criterion.baseline.window.seconds)
    if ready > first.window.start:
        checker.add(
            (*loc, "baseline", "window"),
            f"events collected since {since} do not fill a "
            f"{criterion.baseline.window} baseline before {first.window.start}",
            "shorten the baseline window or collect events earlier",
        )


def severity(checker: Checker, loc: Loc, value: Severity, mode: Mode) -> None:
    """A rollback-mode severity has an action under rollback, and it rolls back."""
    policy = checker.plan.rollback
    if mode is not Mode.ROLLBACK or policy is None:
        return
    name = value.value
    rule = policy.severities.get(value)
    if rule is None:
        checker.add(
            (*loc, "severity"),
            f"severity {name!r} has no action under rollback.severities",
            f"add rollback.severities.{name}",
        )
    elif rule.action is Action.CONTINUE:
        checker.add(
            (*loc, "mode"),
            f"rollback mode with severity {name!r}, whose action is continue: "
            "nothing would roll back",
            "use mode: pause or observe, or a severity that rolls back",
        )
