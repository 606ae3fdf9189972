"""When a live run's checkpoints fall due, over which span, and what still waits.

Pure functions of the plan and the run's state. The controller reads
`due_checkpoint` (through `engine.machine`) to know what to compute when a run is
CHECKPOINT_DUE; the machine and `RunState.waiting` read the rest.

Spans are cumulative: every checkpoint reads [go live, go live + `after`), the
windows of the ingest scope `go_live_scope(run)` that the controller opens at go
live for each flag of the run (first-time counts, such as a share of users, are
counted from that scope's start).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flagramp.core.plans import Checkpoint, Plan, Question
from flagramp.engine.checkpoints import reference_flag
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.transitions.gates import answer_to

__all__ = [
    "DueCheckpoint",
    "checkpoint_order",
    "due_checkpoint",
    "go_live_scope",
    "next_checkpoint",
    "open_questions",
    "run_flags",
]

_YES = {"yes", "y", "true"}


def go_live_scope(run: str) -> str:
    """The ingest scope a run's checkpoints read: opened at go live, per flag."""
    return f"{run}/go-live"


def run_flags(plan: Plan) -> tuple[str, ...]:
    """Every flag the plan's rollout phases launch, each once, in plan order."""
    found: list[str] = []
    for _, part in plan.rollout_phases():
        found.extend(f for f in part.flags if f not in found)
    return tuple(found)


def checkpoint_order(plan: Plan) -> tuple[Checkpoint, ...]:
    """The plan's checkpoints in the order they fall due (by `after`; ties in
    plan order)."""
    if plan.go_live is None:
        return ()
    return tuple(sorted(plan.go_live.checkpoints, key=lambda c: c.after.delta))


@dataclass(frozen=True, slots=True)
class DueCheckpoint:
    """The next checkpoint of a live run, and what computing it reads."""

    index: int
    """Its place in `checkpoint_order` (= checkpoints recorded so far)."""
    checkpoint: Checkpoint
    due_at: dt.datetime
    start_minute: int
    """Go live, as an epoch minute."""
    end_minute: int
    """Go live plus `after`, exclusive."""
    last: bool
    """The plan's last checkpoint: the post-launch questions are asked here."""
    scope: str
    """The ingest scope whose windows to read."""
    flags: tuple[str, ...]
    """Every flag of the run: pass each one's windows (users by flag)."""
    flag: str | None
    """The flag whose windows the metrics read (`checkpoints.reference_flag`)."""


def next_checkpoint(run: str, plan: Plan, state: RunState) -> DueCheckpoint | None:
    """The first checkpoint not yet recorded, due or not; None before go live or
    once all are recorded."""
    record = state.go_live
    order = checkpoint_order(plan)
    index = len(state.checkpoints)
    if record is None or index >= len(order):
        return None
    checkpoint = order[index]
    span = int(checkpoint.after.delta.total_seconds() // 60)
    flags = run_flags(plan)
    return DueCheckpoint(
        index=index,
        checkpoint=checkpoint,
        due_at=record.at + checkpoint.after.delta,
        start_minute=record.minute,
        end_minute=record.minute + span,
        last=index == len(order) - 1,
        scope=go_live_scope(run),
        flags=flags,
        flag=reference_flag(plan, dict.fromkeys(flags)),
    )


def due_checkpoint(
    run: str, plan: Plan, state: RunState, now: dt.datetime
) -> DueCheckpoint | None:
    """The checkpoint the controller must compute for this tick, if any."""
    if not state.is_live:
        return None
    due = next_checkpoint(run, plan, state)
    if due is None:
        return None
    if state.status is RunStatus.CHECKPOINT_DUE or now >= due.due_at:
        return due
    return None


def open_questions(plan: Plan, state: RunState) -> tuple[tuple[str, str, str], ...]:
    """(where, question, role) of every question for people still unanswered.

    `where` is a recorded checkpoint's name; for a plan with a go live but no
    checkpoints it is `go live` (its post-launch questions, answered into
    `state.answers`). Query questions never wait.
    """
    if plan.go_live is None:
        return ()
    if checkpoint_order(plan):
        return tuple(
            (result.checkpoint, text, role or plan.product_owner)
            for result in state.checkpoints
            for text, role in result.awaiting()
        )
    missing: list[tuple[str, str, str]] = []

    def visit(question: Question) -> None:
        given = question.answer or answer_to(state, state.phase, None, question.text)
        if question.answered_by is not None and given is None:
            missing.append(("go live", question.text, question.answered_by))
            return
        follow = question.follow_up
        if follow is not None and (given or "").strip().lower() in _YES:
            visit(follow)

    for question in plan.go_live.questions:
        visit(question)
    return tuple(missing)
