"""Phases: run one after another; a rollout phase moves flags through stages, a
manual phase (seed 003's nudging) changes no flag and only watches."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from flagramp.core.plans.base import Name, PlanModel, Text, Url
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.percentages import PercentOfUsers
from flagramp.core.plans.stages import Record, Stages

#: A clock time `HH:MM` (24-hour).
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Link(PlanModel):
    """A titled link (a dashboard, an epic, a runbook)."""

    title: Text
    url: Url


class DateWindow(PlanModel):
    """The dates a phase may run between (both inclusive)."""

    start: dt.date
    end: dt.date | None = None


class TimeOfDay(PlanModel):
    """Hours in which flag changes may happen (seed 004: off hours).

    `start` after `end` wraps past midnight: 22:00–06:00.
    """

    start: ClockTime
    end: ClockTime
    timezone: Text = "America/New_York"
    """An IANA time zone name; the engine converts."""
    weekdays_only: bool = False


class Audience(PlanModel):
    """Who a phase's flags can reach: an eligible segment and an allow list."""

    eligible: Name | None = None
    """A segment of the plan; the percentage applies inside it only (seed 003)."""
    allow_list: tuple[Text, ...] = ()
    """Actors (flipper ids) who get the flags at every stage: UAT users."""
    description: Text | None = None
    """How access is limited, in words."""


class RolloutPhase(PlanModel):
    """One or more flags taken through stages, together."""

    kind: Literal["rollout"] = "rollout"
    name: Text
    flags: Annotated[tuple[Name, ...], Field(min_length=1)]
    shared_users: bool = False
    """Flags launched together give the same users all of them (seed 002)."""
    audience: Audience = Audience()
    holdback: PercentOfUsers = 0
    """Share of eligible users kept off even at 100 %, as a control; 0 allowed."""
    window: DateWindow | None = None
    time_of_day: TimeOfDay | None = None
    dashboards: tuple[Link, ...] = ()
    monitored_by: tuple[Name, ...] = ()
    """Roles watching the dashboards during the phase."""
    description: Text | None = None
    stages: Stages


class ChecklistItem(PlanModel):
    """One thing to do, by a role, at a time; `done_by` is filled in."""

    text: Text
    role: Name | None = None
    when: Text | None = None
    """When it happens, in words: `evening before, about 22:00`."""
    done_by: Text | None = None


class ManualPhase(PlanModel):
    """A phase that changes no flag: a checklist, an owner and a watch period."""

    kind: Literal["manual"]
    name: Text
    owner: Name
    """The role that runs the phase and says when it is done."""
    watch: Duration
    """How long the phase watches before it can end."""
    checklist: Annotated[tuple[ChecklistItem, ...], Field(min_length=1)]
    window: DateWindow | None = None
    record: Record = Record()
    description: Text | None = None


def _phase_kind(value: object) -> str:
    # `kind` may be left out for the common case, a rollout phase.
    if isinstance(value, dict):
        kind = value.get("kind", "rollout")
        return kind if isinstance(kind, str) else "rollout"
    return str(getattr(value, "kind", "rollout"))


Phase = Annotated[
    Annotated[RolloutPhase, Tag("rollout")] | Annotated[ManualPhase, Tag("manual")],
    Discriminator(_phase_kind),
]
"""A rollout or a manual phase (`kind: manual`)."""
