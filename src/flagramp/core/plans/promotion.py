"""Environments, milestones and promotion between environments (seed 004).

A promotion step backs up before it changes anything, verifies with probes, asks
for go/no-go and restores the backup on No-Go. A probe is an HTTP status check or
the *name* of a hook registered on the server: a plan never carries a shell
command, so whoever can edit a plan cannot run code on the server.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from flagramp.core.plans.base import Name, PlanModel, Text, Url
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.gonogo import GoNoGoField
from flagramp.core.plans.phases import ChecklistItem, TimeOfDay


class Environment(PlanModel):
    """One environment a release passes through, in promotion order."""

    name: Name
    use: Text | None = None
    """What it is for: development, integration testing, UAT, production."""
    parties: tuple[Text, ...] = ()
    """Who is involved there."""


class Milestone(PlanModel):
    """A dated milestone (seed 004's table)."""

    name: Text
    date: dt.date
    owner: Name | None = None
    """The role responsible."""


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


class PromotionStep(PlanModel):
    """Promote the release into one environment."""

    environment: Name
    backup: bool = True
    """Take a backup (snapshot) before changing anything."""
    checklist: tuple[ChecklistItem, ...] = ()
    verify: tuple[Probe, ...] = ()
    go_no_go: GoNoGoField | None = None
    on_no_go: Literal["restore", "stop"] = "restore"
    """Restore the backup on No-Go (seed 004), or only stop."""
    expected_duration: Duration | None = None


class Promotion(PlanModel):
    """Promotion through the plan's environments, in their order."""

    steps: Annotated[tuple[PromotionStep, ...], Field(min_length=1)]
    time_of_day: TimeOfDay | None = None
    """When changes may be made (seed 004: off hours)."""
