"""Milestones (seed 004's table 5): each has a target date in the plan; the run
records the actual date when it reaches one, as a `milestone_met` run event.

A person says a milestone is reached (`MeetMilestone`): someone holding the
milestone's `owner` role, or the plan's owner. The event carries the
milestone's name, its target and the actual date (the day it was recorded, in
UTC) and who recorded it; `milestone_rows` reads plan and log back into target
versus actual for `run show` and the report. Any run (rollout or promotion)
takes it, in any status but a final one, and each milestone once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flagramp.core.plans import Plan
from flagramp.core.types import Json
from flagramp.engine.commands import CommandRefused, MeetMilestone
from flagramp.engine.run_context import RunContext
from flagramp.engine.run_state import RunState
from flagramp.engine.steps import RunEventDraft, Step

__all__ = ["MILESTONE_MET", "MilestoneRow", "meet_milestone", "milestone_rows"]

#: The run event of a milestone reached: data {name, target, actual, note}.
MILESTONE_MET = "milestone_met"


@dataclass(frozen=True, slots=True)
class MilestoneRow:
    """A milestone's target and, once reached, its actual date."""

    name: str
    target: dt.date
    owner: str | None
    actual: dt.date | None = None
    by: str | None = None

    @property
    def days_late(self) -> int | None:
        """Days after the target it was reached (negative: early)."""
        return None if self.actual is None else (self.actual - self.target).days

    def to_json(self) -> dict[str, Json]:
        return {
            "name": self.name,
            "target": self.target.isoformat(),
            "owner": self.owner,
            "actual": None if self.actual is None else self.actual.isoformat(),
            "by": self.by,
            "days_late": self.days_late,
        }


def met_milestones(
    events: Iterable[tuple[str, str | None, Mapping[str, object]]],
) -> dict[str, tuple[dt.date, str | None]]:
    """From (kind, actor, data) of a run's events: each milestone's first
    actual date and who recorded it."""
    met: dict[str, tuple[dt.date, str | None]] = {}
    for kind, actor, data in events:
        name, actual = data.get("name"), data.get("actual")
        if kind != MILESTONE_MET or not isinstance(name, str):
            continue
        if isinstance(actual, str) and name not in met:
            met[name] = (dt.date.fromisoformat(actual), actor)
    return met


def milestone_rows(
    plan: Plan, met: Mapping[str, tuple[dt.date, str | None]]
) -> tuple[MilestoneRow, ...]:
    """The plan's milestones with what the run recorded (or the plan's `met`)."""
    rows = []
    for m in plan.milestones:
        actual, by = met.get(m.name, (m.met, None))
        rows.append(MilestoneRow(m.name, m.target, m.owner, actual, by))
    return tuple(rows)


def meet_milestone(
    context: RunContext,
    state: RunState,
    now: dt.datetime,
    cmd: MeetMilestone,
    already: Mapping[str, object],
) -> Step:
    """The step that records `cmd`'s milestone as reached now; raises
    CommandRefused (`already` holds the names recorded before)."""
    plan = context.plan
    if state.status.is_final:
        raise CommandRefused("the run is over", code="run_final")
    found = next((m for m in plan.milestones if m.name == cmd.name), None)
    if found is None:
        names = ", ".join(m.name for m in plan.milestones) or "none"
        raise CommandRefused(
            f"the plan has no milestone {cmd.name!r} (it has: {names})",
            code="unknown_milestone",
        )
    roles = {plan.owner, *((found.owner,) if found.owner else ())}
    if not any(cmd.person in plan.roles[r].people for r in roles if r in plan.roles):
        raise CommandRefused(
            f"{cmd.person} holds neither the milestone's owner role nor the "
            "plan's owner role",
            code="not_your_role",
        )
    if found.name in already:
        raise CommandRefused(f"{found.name!r} is already met", code="already_done")
    actual = now.astimezone(dt.UTC).date()
    data: dict[str, Json] = {
        "name": found.name,
        "target": found.target.isoformat(),
        "actual": actual.isoformat(),
        "days_late": (actual - found.target).days,
        "note": cmd.note,
    }
    return Step(state, (RunEventDraft(MILESTONE_MET, cmd.person, data),))
