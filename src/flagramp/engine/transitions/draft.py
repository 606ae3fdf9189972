"""A step being built: the state so far and what goes with it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from flagramp.core.types import Json
from flagramp.engine.compiled import FlagSetting
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_context import RunContext
from flagramp.engine.run_state import RunState
from flagramp.engine.steps import (
    FlagMove,
    IncidentDraft,
    NoticeDraft,
    RunEventDraft,
    Step,
)
from flagramp.engine.transitions.waiting import describe


class Draft:
    """The transition under construction; `step()` freezes it into a `Step`.

    Mutable only while one `start`, `tick` or `command` call builds it: the
    machine stays a pure function of its arguments.
    """

    def __init__(self, context: RunContext, state: RunState, now: dt.datetime) -> None:
        self.context = context
        self.plan = context.plan
        self.state = state
        self.now = now
        self.events: list[RunEventDraft] = []
        self.moves: list[FlagMove] = []
        self.notices: list[NoticeDraft] = []
        self.incidents: list[IncidentDraft] = []
        #: The command repeats one already taken (`Step.repeated`).
        self.repeated = False

    def update(self, **changes: Any) -> None:
        """Replace fields of the state."""
        self.state = dataclasses.replace(self.state, **changes)

    def event(self, kind: str, actor: str | None = None, /, **data: Json) -> None:
        self.events.append(RunEventDraft(kind, actor, dict(data)))

    def notice(
        self,
        kind: NoticeKind,
        title: str,
        text: str,
        roles: tuple[str, ...],
        /,
        **data: Json,
    ) -> None:
        known = tuple(dict.fromkeys(r for r in roles if r in self.plan.roles))
        data.setdefault("run", self.context.run)
        self.notices.append(NoticeDraft(kind, title, text, known, dict(data)))

    def set_flag(
        self, setting: FlagSetting, reason: str, *, force: bool = False
    ) -> None:
        """Move a flag to a stage's setting (not one changed outside, unless forced)."""
        self._move(
            FlagMove(
                setting.flag,
                setting.percentage.value,
                setting.bucket_key,
                setting.eligible,
                setting.allow_list,
                reason,
            ),
            force,
        )

    def flag_off(
        self,
        setting: FlagSetting,
        reason: str,
        *,
        keep_allow_list: bool = False,
        force: bool = False,
    ) -> None:
        """0 %: off for everyone, or for all but the allow list."""
        allow = setting.allow_list if keep_allow_list else ()
        move = FlagMove(
            setting.flag, 0.0, setting.bucket_key, setting.eligible, allow, reason
        )
        self._move(move, force)

    def _move(self, move: FlagMove, force: bool) -> None:
        # A flag someone changed outside the run is theirs until a person
        # resumes the run: no automatic move overwrites it.
        if not force and move.flag in self.state.outside_changed:
            self.event("move_withheld", None, flag=move.flag, reason=move.reason)
            return
        self.moves = [m for m in self.moves if m.flag != move.flag]
        self.moves.append(move)

    def incident(self, record: dict[str, Json]) -> None:
        ident = str(record["incident"])
        self.incidents = [i for i in self.incidents if i.incident != ident]
        self.incidents.append(IncidentDraft(ident, record))

    def step(self) -> Step:
        self.update(waiting=describe(self.context, self.state))
        return Step(
            self.state,
            tuple(self.events),
            tuple(self.moves),
            tuple(self.notices),
            tuple(self.incidents),
            self.repeated,
        )
