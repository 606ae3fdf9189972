"""Phases: run one after another; a rollout phase moves flags through stages, a
manual phase (seed 003's nudging) changes no flag and only watches."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from flagramp.core.plans.base import Name, PlanModel, Text, Url
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGoField
from flagramp.core.plans.percentages import PercentOfUsers
from flagramp.core.plans.stages import Record, Stages

#: A clock time `HH:MM` (24-hour).
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
#: The time zone dates and clock times are read in unless a plan says otherwise.
DEFAULT_TIMEZONE = "America/New_York"


class Link(PlanModel):
    """A titled link (a dashboard, an epic, a runbook)."""

    title: Text
    url: Url


class DateWindow(PlanModel):
    """The dates a phase may run between, both inclusive, in `timezone`.

    The run waits for `start`; when `end` passes (midnight after it) the run
    pauses and asks. A kill switch never waits for a window.
    """

    start: dt.date
    end: dt.date | None = None
    timezone: Text = DEFAULT_TIMEZONE
    """An IANA time zone name."""


class TimeOfDay(PlanModel):
    """Hours in which changes may happen (seed 004: off hours).

    `start` after `end` wraps past midnight: 22:00–06:00. Only changes wait for
    the window (a stage's flag change, a manual phase's start, a promotion step);
    holds count on outside it, and a kill switch never waits.
    """

    start: ClockTime
    end: ClockTime
    timezone: Text = DEFAULT_TIMEZONE
    """An IANA time zone name; the engine converts."""
    weekdays_only: bool = False


class Audience(PlanModel):
    """Who a phase's flags can reach: an eligible segment and an allow list."""

    eligible: Name | None = None
    """A segment of the plan; the percentage applies inside it only (seed 003)."""
    allow_list: tuple[Text, ...] = ()
    """Actors (flipper ids) who get the flags at every stage: UAT users. They
    are not randomised and never enter a comparison."""
    description: Text | None = None
    """How access is limited, in words."""


class HoldbackUntil(StrEnum):
    """When the users kept off as a control get the feature."""

    GO_LIVE = "go_live"
    LAST_CHECKPOINT = "last_checkpoint"


class WatchedUntil(StrEnum):
    """How long a phase's last-stage criteria stay watched after the phase."""

    GO_LIVE = "go_live"
    """Until go live (or the end of the run if the plan has no go live)."""
    PHASE_END = "phase_end"
    """Not after the phase ends."""


class RolloutPhase(PlanModel):
    """One or more flags taken through stages, together."""

    kind: Literal["rollout"] = "rollout"
    name: Text
    flags: Annotated[tuple[Name, ...], Field(min_length=1)]
    shared_users: bool = False
    """Every flag buckets on the first flag's key, so the same users get all of
    them (seed 002); flagramp's own store only, Flipper's tables cannot."""
    audience: Audience = Audience()
    holdback: PercentOfUsers = 0
    """Share of eligible users kept off even at 100 %, as a control; 0 allowed."""
    holdback_until: HoldbackUntil | None = None
    """When the held-back users get the feature; required with a holdback."""
    window: DateWindow | None = None
    time_of_day: TimeOfDay | None = None
    go_no_go: GoNoGoField | None = None
    """Roles asked before the phase's first flag change."""
    watched_until: WatchedUntil = WatchedUntil.GO_LIVE
    """After the phase, its last stage's criteria keep watching its flags."""
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
    expected_duration: Duration | None = None
    """How long it should take; an overrun raises an alert."""
    done_by: Text | None = None


class ManualPhase(PlanModel):
    """A phase that changes no flag: a checklist, an owner and a watch period.

    While it watches, earlier phases' criteria stay watched (their
    `watched_until`) and the metrics under `watches` are recorded for the owner.
    """

    kind: Literal["manual"]
    name: Text
    owner: Name
    """The role that runs the phase and says when it is done."""
    watch: Duration
    """How long the phase watches before it can end."""
    watches: tuple[Name, ...] = ()
    """Metrics shown and recorded during the watch."""
    checklist: Annotated[tuple[ChecklistItem, ...], Field(min_length=1)]
    checklist_required: bool = True
    """The phase cannot end before every checklist item is done."""
    window: DateWindow | None = None
    time_of_day: TimeOfDay | None = None
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
