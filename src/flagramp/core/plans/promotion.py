"""Environments, milestones and promotion between environments (seed 004).

A promotion step may back up before it changes anything, verifies with probes,
asks for go/no-go and on No-Go (a Pivot answer) restores its backup or stops. A
probe is an HTTP status check or the *name* of a hook registered on the server:
a plan never carries a shell command, so whoever can edit a plan cannot run code
on the server.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from flagramp.core.plans.base import Name, PlanModel, Text, Url
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGoField
from flagramp.core.plans.phases import (
    DEFAULT_TIMEZONE,
    ChecklistItem,
    ClockTime,
    TimeOfDay,
)


class Environment(PlanModel):
    """One environment a release passes through, in promotion order."""

    name: Name
    use: Text | None = None
    """What it is for: development, integration testing, UAT, production."""
    parties: tuple[Text, ...] = ()
    """Who is involved there."""


class Milestone(PlanModel):
    """A milestone with its target date; the run records when it was met."""

    name: Text
    target: dt.date
    owner: Name | None = None
    """The role responsible."""
    met: dt.date | None = None
    """When it was met (a filled-in plan carries it)."""


class HttpProbe(PlanModel):
    """Check that a URL answers with the expected status."""

    kind: Literal["http"]
    url: Url
    expect_status: Annotated[int, Field(ge=100, le=599)] = 200
    timeout: Duration = Duration(10, "10s")


class HookProbe(PlanModel):
    """Run a verification hook registered on the server, by name."""

    kind: Literal["hook"]
    name: Name
    """The hook's name as registered on the server."""
    arguments: dict[Name, str] = Field(default_factory=dict)
    """Text arguments handed to the hook; never a command line."""


Probe = Annotated[HttpProbe | HookProbe, Field(discriminator="kind")]
"""A verification probe: `http` or `hook`."""


class Backup(PlanModel):
    """When a step's backup is taken (seed 004: about 10 pm the night before)."""

    at: ClockTime | None = None
    """Clock time of the backup; default: just before the step."""
    days_before: Annotated[int, Field(ge=0, le=30)] = 0
    """Days before the step's date (1: the evening before)."""
    timezone: Text = DEFAULT_TIMEZONE
    steps: tuple[Text, ...] = ()
    """How people take it, in order."""


class PromotionStep(PlanModel):
    """Promote the release into one environment."""

    environment: Name
    date: dt.date | None = None
    """The planned day of the step."""
    backup: bool | Backup = True
    """Take a backup (snapshot) before changing anything, or say when."""
    checklist: tuple[ChecklistItem, ...] = ()
    verify: tuple[Probe, ...] = ()
    go_no_go: GoNoGoField | None = None
    on_no_go: Literal["restore", "stop"] = "restore"
    """Restore the backup on No-Go (seed 004), or only stop."""
    restore_steps: tuple[Text, ...] = ()
    """How people restore the backup, in order."""
    time_of_day: TimeOfDay | None = None
    """When this step may start; default: the promotion's window."""
    expected_duration: Duration | None = None

    @property
    def takes_backup(self) -> bool:
        """True if the step backs up before changing anything."""
        return self.backup is not False


class Promotion(PlanModel):
    """Promotion through the plan's environments, in their order."""

    steps: Annotated[tuple[PromotionStep, ...], Field(min_length=1)]
    time_of_day: TimeOfDay | None = None
    """When changes may be made (seed 004: off hours)."""
