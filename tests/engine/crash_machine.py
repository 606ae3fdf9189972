"""A deterministic scripted machine for the crash-safety test, until the real
machine is merged: stages on a timetable, a chained transition at one instant,
flag moves, notices and an incident, all decided from (state, now) alone."""

from __future__ import annotations

import datetime as dt

from flagramp.engine.evaluation import Observation
from flagramp.engine.machine import RunContext
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.steps import IncidentDraft, NoticeDraft, RunEventDraft, Step
from tests.engine.run_support import move, state

PERCENTAGES = (1, 2, 5, 10, 25, 50, 75, 100)
HOLD = dt.timedelta(minutes=3)


def tick(ctx: RunContext, st: RunState, now: dt.datetime, obs: Observation) -> Step:
    """Prerequisites → eight stages of three minutes → completed; entering stage
    2 asks for a go/no-go that is answered at the same instant (a chain)."""
    minute = now.isoformat()
    if st.status is RunStatus.WAITING_PREREQUISITES:
        return _enter(0, now)
    if st.status is RunStatus.AWAITING_GO_NO_GO:
        return Step(
            state=state(RunStatus.STAGE_RUNNING, st.stage, st.since, "launched"),
            events=(RunEventDraft("go_no_go_closed", None, {"at": minute}),),
        )
    if st.status is not RunStatus.STAGE_RUNNING or st.stage is None:
        return Step(st)
    if now - st.since < HOLD:
        return Step(st)
    if st.stage + 1 == len(PERCENTAGES):
        return Step(
            state=state(RunStatus.COMPLETED, st.stage, now),
            events=(RunEventDraft("completed", None, {}),),
            notices=(NoticeDraft(NoticeKind.COMPLETED, "done", "the plan completed"),),
        )
    return _enter(st.stage + 1, now)


def _enter(stage: int, now: dt.datetime) -> Step:
    asks = stage == 2
    status = RunStatus.AWAITING_GO_NO_GO if asks else RunStatus.STAGE_RUNNING
    return Step(
        state=state(status, stage, now),
        events=(RunEventDraft("stage_entered", None, {"stage": stage}),),
        flag_moves=(move(PERCENTAGES[stage]),),
        notices=(
            NoticeDraft(
                NoticeKind.NEEDS_PERSON, f"stage {stage}", "go?", ("eng_lead",)
            ),
        )
        if asks
        else (),
        incidents=(IncidentDraft("I1", {"severity": "low", "stage": stage}),)
        if stage == 1
        else (),
    )
