"""The projected timeline: when each stage starts and ends if every stage passes.

A stage lasts its hold, or longer if the expected traffic needs more time to
reach its minimum sample. A phase does not start before its date window opens,
and flag changes wait for the phase's time-of-day window (seed 004: off hours).
The caller passes the start time; nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flagramp.core.plans.lint import treatment_share
from flagramp.core.plans.phases import ManualPhase, RolloutPhase, TimeOfDay
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.stages import Stage


@dataclass(frozen=True, slots=True)
class Step:
    """One projected step: a stage, a manual phase, or a go-live checkpoint."""

    phase: str
    stage: str
    percentage: float | None
    start: dt.datetime
    end: dt.datetime
    why: str
    """What sets the length: `hold`, `min_sample`, `watch`, `checkpoint`."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every projected step, and when the last phase ends."""

    steps: tuple[Step, ...]
    finish: dt.datetime
    """The earliest moment every phase has passed."""


def project(plan: Plan, start: dt.datetime) -> Timeline:
    """Project the plan from `start` (timezone-aware) assuming every stage passes."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    steps: list[Step] = []
    cursor = start
    for phase in plan.phases:
        if phase.window is not None:
            opens = dt.datetime.combine(phase.window.start, dt.time(), start.tzinfo)
            cursor = max(cursor, opens)
        if isinstance(phase, ManualPhase):
            end = cursor + phase.watch.delta
            steps.append(Step(phase.name, "", None, cursor, end, "watch"))
            cursor = end
            continue
        for stage in phase.stages:
            cursor = _next_allowed(cursor, phase.time_of_day)
            length, why = stage_length(plan, phase, stage)
            end = cursor + length
            steps.append(
                Step(phase.name, stage.name, stage.percentage, cursor, end, why)
            )
            cursor = end
    finish = cursor
    if plan.go_live is not None:
        launch = finish
        if plan.go_live.date is not None:
            planned = dt.datetime.combine(plan.go_live.date, dt.time(), start.tzinfo)
            launch = max(launch, planned)
        for checkpoint in plan.go_live.checkpoints:
            at = launch + checkpoint.after.delta
            steps.append(Step("go live", checkpoint.name, None, at, at, "checkpoint"))
    return Timeline(tuple(steps), finish)


def stage_length(
    plan: Plan, phase: RolloutPhase, stage: Stage
) -> tuple[dt.timedelta, str]:
    """How long a stage lasts if it passes, and what decides it."""
    length, why = stage.hold.delta, "hold"
    traffic = plan.traffic
    share = treatment_share(phase, stage)
    if traffic is not None and traffic.users_per_day and stage.min_sample and share:
        days = stage.min_sample / (traffic.users_per_day * share)
        needed = dt.timedelta(minutes=math.ceil(days * 1440))
        if needed > length:
            length, why = needed, "min_sample"
    return length, why


def _next_allowed(at: dt.datetime, window: TimeOfDay | None) -> dt.datetime:
    # Flag changes happen only inside the time-of-day window; wait for it to open.
    if window is None:
        return at
    try:
        zone: dt.tzinfo = ZoneInfo(window.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = at.tzinfo or dt.UTC
    local = at.astimezone(zone)
    start = _clock(window.start)
    end = _clock(window.end)
    for offset in range(9):
        day = local.date() + dt.timedelta(days=offset)
        if window.weekdays_only and day.weekday() >= 5:
            continue
        opens = dt.datetime.combine(day, start, zone)
        closes = dt.datetime.combine(day, end, zone)
        if closes <= opens:
            closes += dt.timedelta(days=1)
        # A window that wraps midnight may have opened the day before.
        earlier = opens - dt.timedelta(days=1)
        if earlier <= local < closes - dt.timedelta(days=1):
            return at
        if opens <= local < closes:
            return at
        if local < opens:
            return opens.astimezone(at.tzinfo)
    return at


def _clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))
