"""What a run waits for, in words, and who must act: `RunState.waiting`."""

from __future__ import annotations

from collections.abc import Callable

from flagramp.core.plans import ManualPhase, RolloutPhase
from flagramp.engine.go_live_schedule import next_checkpoint, open_questions
from flagramp.engine.run_context import RunContext
from flagramp.engine.run_records import Waiting
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.transitions.gates import launched_roles, unanswered
from flagramp.engine.transitions.people import (
    leads,
    people_of,
    re_enable_roles,
    revert_roles,
)
from flagramp.engine.transitions.windows import window_opens


def describe(context: RunContext, state: RunState) -> Waiting | None:
    """What the state waits for (computed from the plan and the state alone)."""
    plan = context.plan
    status = state.status
    if status.is_final:
        return None
    part = plan.phases[state.phase] if state.phase < len(plan.phases) else None
    name = part.name if part is not None else "the plan"

    def asking(what: str, roles: tuple[str, ...]) -> Waiting:
        return Waiting(what, roles, people_of(plan, roles))

    if status is RunStatus.WAITING_PREREQUISITES:
        signed = {s.item for s in state.signed}
        todo = [(i, p) for i, p in enumerate(plan.prerequisites) if i not in signed]
        what = "prerequisites to sign: " + "; ".join(
            f"#{i} {p.text} ({p.signed_by})" for i, p in todo
        )
        return asking(what, tuple(dict.fromkeys(p.signed_by for _, p in todo)))
    if status is RunStatus.WAITING_WINDOW:
        if part is not None and part.window and state.stage is None:
            opens = window_opens(part.window).isoformat()
            return Waiting(f"{name}: its date window, opening {opens}")
        tod = part.time_of_day if part is not None else None
        if tod is not None:
            return Waiting(
                f"{name}: flag changes wait for the time of day {tod.start}-{tod.end}"
                f" ({tod.timezone}); or the next tick"
            )
        return Waiting(f"{name}: the next tick")
    if status is RunStatus.STAGE_RUNNING and isinstance(part, RolloutPhase):
        stage = part.stages[state.stage or 0]
        what = (
            f"{name} / {stage.name} at {stage.percentage:g} %: its hold of"
            f" {stage.hold} (counted while the data is healthy), its minimum sample"
            " and healthy criteria"
        )
        if state.clock.gap_reason:
            what += f"; the clock is stopped: {state.clock.gap_reason}"
        rollback = state.rollback
        if rollback and rollback.revert_required and not rollback.revert_confirmed:
            return asking(what + "; and the revert to be confirmed", revert_roles(plan))
        return Waiting(what)
    if status is RunStatus.AWAITING_GO_NO_GO and state.gate is not None:
        gate = state.gate
        done = set(launched_roles(gate, state))
        roles = tuple(r for r in gate.roles if r not in done)
        what = f"go/no-go ({gate.kind}) in {name}: Launch from {', '.join(gate.roles)}"
        if gate.quorum > 1:
            what += f" ({gate.quorum} people each)"
        if isinstance(part, RolloutPhase) and state.stage is not None:
            missing = unanswered(plan, state, state.phase, state.stage)
            if missing:
                what += "; answers to: " + "; ".join(q.text for q in missing)
                roles = (*roles, *(q.answered_by for q in missing if q.answered_by))
        return asking(what, tuple(dict.fromkeys(roles)))
    if status is RunStatus.PAUSED:
        reason = state.paused_reason or "paused"
        if state.revision_required:
            return asking(f"paused ({reason}): a plan revision", leads(plan))
        if state.rollback is not None:
            return asking(
                f"paused ({reason}): re-enable approval with a root cause",
                re_enable_roles(plan),
            )
        return asking(f"paused ({reason}): a person to resume", leads(plan))
    if status is RunStatus.ROLLED_BACK and state.rollback is not None:
        rollback = state.rollback
        if rollback.revert_required and not rollback.revert_confirmed:
            return asking(
                f"rolled back ({rollback.action}, incident {rollback.incident}):"
                " the revert to be confirmed, then re-enable approval",
                revert_roles(plan),
            )
        return asking(
            f"rolled back ({rollback.action}, incident {rollback.incident}):"
            " re-enable approval with a root cause",
            re_enable_roles(plan),
        )
    if status is RunStatus.MANUAL_PHASE and isinstance(part, ManualPhase):
        ends = (state.since + part.watch.delta).isoformat()
        left = [i for i in range(len(part.checklist)) if i not in state.checklist_done]
        what = f"manual phase {name}: its watch of {part.watch} (until {ends})"
        if left and part.checklist_required:
            what += f" and checklist items {', '.join(f'#{i}' for i in left)}"
        return asking(what + "; the owner finishes it", (part.owner,))
    if status in (RunStatus.GO_LIVE_WATCHING, RunStatus.CHECKPOINT_DUE):
        return _live(context, state, asking)
    return Waiting(status.value.replace("_", " "))


def _live(
    context: RunContext,
    state: RunState,
    asking: Callable[[str, tuple[str, ...]], Waiting],
) -> Waiting:
    """A live run waits for its next checkpoint, then for people's answers."""
    due = next_checkpoint(context.run, context.plan, state)
    questions = open_questions(context.plan, state)
    parts: list[str] = []
    if due is not None and state.status is RunStatus.CHECKPOINT_DUE:
        parts.append(f"checkpoint {due.checkpoint.name!r} to be computed")
    elif due is not None:
        parts.append(f"checkpoint {due.checkpoint.name!r} at {due.due_at.isoformat()}")
    if questions:
        parts.append(
            "answers to: "
            + "; ".join(f"{q} ({where}, {role})" for where, q, role in questions)
        )
    if not parts:
        return Waiting("go live")
    roles = tuple(dict.fromkeys(role for _, _, role in questions))
    return asking("; ".join(parts), roles) if roles else Waiting("; ".join(parts))
