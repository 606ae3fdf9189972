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

from flagramp.core.errors import PlanError
from flagramp.core.plans.phases import (
    DEFAULT_TIMEZONE,
    ManualPhase,
    RolloutPhase,
    TimeOfDay,
)
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.semantics import treatment_share
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


class TimelineOutOfRange(PlanError):
    """The projected timeline runs past the end of the calendar (year 9999)."""

    code = "timeline_out_of_range"

    def __init__(self, start: dt.datetime) -> None:
        self.start = start
        super().__init__(
            f"the timeline from {start:%Y-%m-%d} runs past the year 9999; "
            "start earlier or shorten the plan"
        )


def project(plan: Plan, start: dt.datetime) -> Timeline:
    """Project the plan from `start` (timezone-aware) assuming every stage passes.

    Raises ValueError for a naive start, TimelineOutOfRange past the year 9999.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    try:
        return _project(plan, start)
    except OverflowError:
        raise TimelineOutOfRange(start) from None


def _project(plan: Plan, start: dt.datetime) -> Timeline:
    steps: list[Step] = []
    cursor = start
    live: dt.datetime | None = None
    for phase in plan.phases:
        if phase.window is not None:
            cursor = max(cursor, _opens(phase.window.start, phase.window.timezone))
        cursor = _next_allowed(cursor, phase.time_of_day)
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
            cursor = live = end
    if plan.promotion is not None:
        for step in plan.promotion.steps:
            if step.date is not None:
                cursor = max(cursor, _opens(step.date, _zone_name(step.time_of_day)))
            cursor = _next_allowed(
                cursor, step.time_of_day or plan.promotion.time_of_day
            )
            length = step.expected_duration.delta if step.expected_duration else _NONE
            steps.append(
                Step(
                    "promotion", step.environment, None, cursor, cursor + length, "step"
                )
            )
            cursor = live = cursor + length
    finish = cursor
    if plan.go_live is not None and live is not None:
        # Checkpoints count from go live: the moment the last rollout stage
        # (or promotion step) completes.
        for checkpoint in plan.go_live.checkpoints:
            at = live + checkpoint.after.delta
            steps.append(Step("go live", checkpoint.name, None, at, at, "checkpoint"))
    return Timeline(tuple(steps), finish)


_NONE = dt.timedelta()


def stage_length(
    plan: Plan, phase: RolloutPhase, stage: Stage
) -> tuple[dt.timedelta, str]:
    """How long a stage lasts if it passes, and what decides it.

    The hold, or longer if the expected traffic needs more time to reach the
    minimum sample, but never past `max_time`: there the stage asks people.
    """
    length, why = stage.hold.delta, "hold"
    traffic = plan.traffic
    share = treatment_share(phase, stage)
    if traffic is not None and traffic.users_per_day and stage.min_sample and share:
        days = stage.min_sample / (traffic.users_per_day * share)
        longest = stage.effective_max_time.delta
        needed = min(dt.timedelta(minutes=math.ceil(min(days, 1e6) * 1440)), longest)
        if needed > length:
            length, why = needed, "min_sample" if needed < longest else "max_time"
    return length, why


def _zone_name(window: TimeOfDay | None) -> str:
    return window.timezone if window is not None else DEFAULT_TIMEZONE


def _opens(day: dt.date, zone_name: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), _zone(zone_name))


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


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
