"""Checks on phases and stages: what a running engine would trip over."""

from __future__ import annotations

import datetime as dt

from flagramp.core.plans.check_criteria import check_criterion
from flagramp.core.plans.checker import Checker
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.phases import (
    DateWindow,
    HoldbackUntil,
    ManualPhase,
    RolloutPhase,
    TimeOfDay,
)
from flagramp.core.plans.problems import Loc
from flagramp.core.plans.semantics import (
    is_allow_list_stage,
    treatment_percentage,
)
from flagramp.core.plans.stages import Stage


def check_phases(checker: Checker) -> None:
    """Every phase, stage and criterion can run as written."""
    plan = checker.plan
    checker.unique(("phases",), [p.name for p in plan.phases], "name")
    reached: dict[str, tuple[float, str]] = {}
    for i, phase in enumerate(plan.phases):
        if isinstance(phase, RolloutPhase):
            _rollout(checker, ("phases", i), phase)
            _keeps_earlier_flags(checker, ("phases", i), phase, reached)
        else:
            _manual(checker, ("phases", i), phase)


def _rollout(checker: Checker, loc: Loc, phase: RolloutPhase) -> None:
    plan = checker.plan
    for i, flag in enumerate(phase.flags):
        if flag not in plan.flags:
            checker.add(
                (*loc, "flags", i),
                f"flag {flag!r} is not declared under `flags`",
                f"add `{flag}: {{create: false}}` (or create: true) under flags",
            )
    checker.unique_values((*loc, "flags"), phase.flags)
    if phase.shared_users and len(phase.flags) < 2:
        checker.add((*loc, "shared_users"), "shared users need two or more flags")
    eligible = phase.audience.eligible
    if eligible is not None and eligible not in plan.segments:
        checker.add(
            (*loc, "audience", "eligible"),
            f"segment {eligible!r} is not defined under `segments`",
        )
    _holdback(checker, loc, phase)
    window(checker, (*loc, "window"), phase.window)
    time_of_day(checker, (*loc, "time_of_day"), phase.time_of_day)
    checker.gonogo((*loc, "go_no_go"), phase.go_no_go)
    checker.roles((*loc, "monitored_by"), phase.monitored_by, None)
    checker.unique((*loc, "stages"), [s.name for s in phase.stages], "name")
    previous: Stage | None = None
    for i, stage in enumerate(phase.stages):
        _stage(checker, (*loc, "stages", i), stage, phase)
        if previous is not None and stage.percentage < previous.percentage:
            checker.add(
                (*loc, "stages", i, "percentage"),
                f"{show_number(stage.percentage)} is below the previous stage's "
                f"{show_number(previous.percentage)}",
                "percentages never decrease within a phase; start a new phase",
            )
        previous = stage
    _holds_fit(checker, loc, phase)


def _holdback(checker: Checker, loc: Loc, phase: RolloutPhase) -> None:
    if phase.holdback >= 100:
        checker.add(
            (*loc, "holdback"), "a holdback of 100 leaves nobody to roll out to"
        )
    if phase.holdback > 0 and phase.holdback_until is None:
        checker.add(
            (*loc, "holdback"),
            "say when the held-back users get the feature",
            "add holdback_until: go_live (or last_checkpoint)",
        )
    if phase.holdback == 0 and phase.holdback_until is not None:
        checker.add((*loc, "holdback_until"), "there is no holdback to release")
    go_live = checker.plan.go_live
    if phase.holdback_until is HoldbackUntil.LAST_CHECKPOINT and (
        go_live is None or not go_live.checkpoints
    ):
        checker.add(
            (*loc, "holdback_until"),
            "last_checkpoint needs go_live.checkpoints",
            "add a checkpoint, or release the holdback at go_live",
        )


def _keeps_earlier_flags(
    checker: Checker,
    loc: Loc,
    phase: RolloutPhase,
    reached: dict[str, tuple[float, str]],
) -> None:
    # A flag already rolled out by an earlier phase stays where that phase left
    # it; a later phase that starts lower would take it away from users.
    first = treatment_percentage(phase, phase.stages[0])
    for flag in phase.flags:
        earlier = reached.get(flag)
        if earlier is not None and first < earlier[0]:
            checker.add(
                (*loc, "stages", 0, "percentage"),
                f"flag {flag!r} is at {show_number(earlier[0])} % after phase "
                f"{earlier[1]!r}; starting here at {show_number(first)} % would "
                "take it away from users who have it",
                "start at or above the earlier phase's last percentage",
            )
    last = treatment_percentage(phase, phase.stages[-1])
    for flag in phase.flags:
        reached[flag] = (last, phase.name)


def _holds_fit(checker: Checker, loc: Loc, phase: RolloutPhase) -> None:
    dates = phase.window
    if dates is None or dates.end is None or dates.end < dates.start:
        return
    room = dt.timedelta(days=(dates.end - dates.start).days + 1)
    used = dt.timedelta()
    for i, stage in enumerate(phase.stages):
        used += stage.hold.delta
        if used > room:
            checker.add(
                (*loc, "stages", i, "hold"),
                f"the holds up to this stage take {_days(used)}, longer than the "
                f"window {dates.start} to {dates.end} ({_days(room)})",
                "shorten the holds or widen phase.window",
            )
            return


def _days(delta: dt.timedelta) -> str:
    days = round(delta.total_seconds() / 86_400, 2)
    return f"{show_number(days)} {'day' if days == 1 else 'days'}"


def _stage(checker: Checker, loc: Loc, stage: Stage, phase: RolloutPhase) -> None:
    uat = is_allow_list_stage(stage)
    if uat and not phase.audience.allow_list:
        checker.add(
            (*loc, "percentage"),
            "0 % with no allow list reaches nobody",
            "add audience.allow_list to the phase, or raise the percentage",
        )
    if uat and stage.go_no_go is None:
        checker.add(
            (*loc, "go_no_go"),
            "a UAT stage (0 %, allow list only) moves on by go/no-go only",
            "add go_no_go: [roles] to this stage",
        )
    if stage.max_time is not None and stage.max_time < stage.hold:
        checker.add(
            (*loc, "max_time"),
            f"{stage.max_time} is shorter than the hold of {stage.hold}",
        )
    names = [c.name for c in stage.criteria if c.name is not None]
    checker.unique_values((*loc, "criteria"), names)
    for i, criterion in enumerate(stage.criteria):
        check_criterion(checker, (*loc, "criteria", i), criterion, stage, phase)
    checker.gonogo((*loc, "go_no_go"), stage.go_no_go)
    checker.record((*loc, "record"), stage.record)


def _manual(checker: Checker, loc: Loc, phase: ManualPhase) -> None:
    checker.role((*loc, "owner"), phase.owner)
    for i, item in enumerate(phase.checklist):
        if item.role is not None:
            checker.role((*loc, "checklist", i, "role"), item.role)
    for i, name in enumerate(phase.watches):
        checker.metric((*loc, "watches", i), name)
    window(checker, (*loc, "window"), phase.window)
    time_of_day(checker, (*loc, "time_of_day"), phase.time_of_day)
    checker.record((*loc, "record"), phase.record)


def window(checker: Checker, loc: Loc, dates: DateWindow | None) -> None:
    """The date window ends on or after its start, in a real time zone."""
    if dates is None:
        return
    if dates.end is not None and dates.end < dates.start:
        checker.add((*loc, "end"), f"{dates.end} is before the start {dates.start}")
    checker.timezone((*loc, "timezone"), dates.timezone)


def time_of_day(checker: Checker, loc: Loc, hours: TimeOfDay | None) -> None:
    """The time-of-day window has some length, in a real time zone."""
    if hours is None:
        return
    if hours.start == hours.end:
        checker.add((*loc, "end"), "the window starts and ends at the same time")
    checker.timezone((*loc, "timezone"), hours.timezone)
