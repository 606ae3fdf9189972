"""People's commands: each checks who may give it and when, then moves the run.

A command the run cannot take raises `CommandRefused` with a stable code:
`run_finished`, `not_your_role`, `not_waiting_for_that`, `unknown_question`,
`unknown_prerequisite`, `already_signed`, `needs_root_cause`,
`revert_not_confirmed`, `stage_too_high`, `needs_product_owner`,
`needs_revision`, `needs_re_enable`, `watch_not_over`, `checklist_incomplete`,
`answered_by_query`, `checkpoints_pending`.
"""

from __future__ import annotations

import dataclasses

from flagramp.core.plans import Answer, GoNoGoOutcome, ManualPhase, RolloutPhase
from flagramp.engine.commands import (
    Abort,
    AnswerQuestion,
    Command,
    CommandRefused,
    CompleteRun,
    ConfirmRevert,
    FinishManualPhase,
    Kill,
    Pause,
    RaiseIncident,
    ReEnable,
    Resume,
    Revise,
    SignPrerequisite,
    Vote,
)
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_records import AnswerRecord, SignedItem, VoteRecord, iso
from flagramp.engine.run_state import RunStatus
from flagramp.engine.transitions import golive
from flagramp.engine.transitions.draft import Draft
from flagramp.engine.transitions.flow import (
    adopt_revision,
    advance,
    close_gate_if_ready,
    pause,
    prepare_phase,
)
from flagramp.engine.transitions.gates import (
    go_live_questions,
    outcome,
    stage_questions,
)
from flagramp.engine.transitions.harm import (
    act,
    kill,
    last_stage,
    open_incident,
    policy_action,
    update_incident,
)
from flagramp.engine.transitions.people import (
    holds,
    holds_any,
    in_plan,
    kill_roles,
    leads,
    re_enable_roles,
    revert_roles,
)

_PAUSABLE = (
    RunStatus.STAGE_RUNNING,
    RunStatus.AWAITING_GO_NO_GO,
    RunStatus.WAITING_WINDOW,
)


def refuse(code: str, reason: str) -> CommandRefused:
    return CommandRefused(reason, code=code)


def _member(d: Draft, person: str) -> None:
    if not in_plan(d.plan, person):
        raise refuse("not_your_role", f"{person} holds no role in the plan")


def handle(d: Draft, cmd: Command) -> None:
    """Apply one command to the draft; raises CommandRefused."""
    if d.state.status.is_final:
        raise refuse("run_finished", f"the run is {d.state.status.value}")
    match cmd:
        case SignPrerequisite():
            sign(d, cmd)
        case AnswerQuestion():
            answer(d, cmd)
        case Vote():
            vote(d, cmd)
        case Pause():
            _member(d, cmd.person)
            if d.state.status not in _PAUSABLE:
                raise refuse("not_waiting_for_that", "only a moving run pauses")
            pause(d, cmd.note or f"paused by {cmd.person}", cmd.person)
        case Resume():
            resume(d, cmd)
        case Kill():
            if not holds_any(d.plan, cmd.person, kill_roles(d.plan)):
                raise refuse("not_your_role", f"{cmd.person} holds no kill switch")
            kill(d, cmd.person, cmd.note)
        case RaiseIncident():
            raise_incident(d, cmd)
        case ReEnable():
            re_enable(d, cmd)
        case ConfirmRevert():
            confirm_revert(d, cmd)
        case Revise():
            revise(d, cmd)
        case FinishManualPhase():
            finish_manual(d, cmd)
        case CompleteRun():
            if not holds_any(d.plan, cmd.person, leads(d.plan)):
                raise refuse("not_your_role", "the owner or product owner completes")
            if not d.state.is_live:
                raise refuse("not_waiting_for_that", "the run is not live")
            golive.close(d, cmd.person, cmd.note)
        case Abort():
            if not holds_any(d.plan, cmd.person, leads(d.plan)):
                raise refuse("not_your_role", "the owner or product owner aborts")
            d.update(status=RunStatus.ABORTED, since=d.now, gate=None, votes=())
            d.event("aborted", cmd.person, note=cmd.note, flags="left as they are")
            d.notice(NoticeKind.COMPLETED, "Run aborted", cmd.note, leads(d.plan))


def sign(d: Draft, cmd: SignPrerequisite) -> None:
    items = d.plan.prerequisites
    if not items:
        raise refuse("unknown_prerequisite", "the plan has no prerequisites to sign")
    if d.state.status is not RunStatus.WAITING_PREREQUISITES:
        raise refuse("not_waiting_for_that", "prerequisites are signed already")
    if not 0 <= cmd.item < len(items):
        raise refuse("unknown_prerequisite", f"no prerequisite #{cmd.item}")
    role = items[cmd.item].signed_by
    if not holds(d.plan, cmd.person, role):
        raise refuse("not_your_role", f"prerequisite #{cmd.item} is signed by {role}")
    if any(s.item == cmd.item for s in d.state.signed):
        raise refuse("already_signed", f"prerequisite #{cmd.item} is signed")
    signed = (*d.state.signed, SignedItem(cmd.item, cmd.person, d.now, cmd.note))
    d.update(signed=signed)
    d.event("prerequisite_signed", cmd.person, item=cmd.item, role=role, note=cmd.note)
    if len(signed) == len(items):
        prepare_phase(d, 0)


def answer(d: Draft, cmd: AnswerQuestion) -> None:
    state = d.state
    if state.status is RunStatus.WAITING_PREREQUISITES:
        raise refuse("not_waiting_for_that", "no stage has started")
    stage = (
        state.stage if isinstance(d.plan.phases[state.phase], RolloutPhase) else None
    )
    where: int | None = stage
    # Once live, the stages' results are written: answers go to the go live.
    asked = () if state.is_live else stage_questions(d.plan, state.phase, stage)
    found = [q for q in asked if q.text == cmd.question]
    to_checkpoint = cmd.checkpoint is not None or (
        bool(state.checkpoints) and not found
    )
    # A recorded checkpoint's question: the answer goes into its record.
    if to_checkpoint and golive.answer_checkpoint(d, cmd):
        golive.settle(d)
        return
    if not found and state.is_live:
        if golive.asked_at_a_checkpoint(d.plan, cmd.question):
            raise refuse(
                "not_waiting_for_that",
                "a checkpoint asks this question; answer it once it is recorded",
            )
        found = [q for q in go_live_questions(d.plan) if q.text == cmd.question]
        where = None
    if not found:
        raise refuse("unknown_question", f"the stage records no {cmd.question!r}")
    question = found[0]
    if question.answered_by is None:
        raise refuse("answered_by_query", "a query answers this question")
    if not holds(d.plan, cmd.person, question.answered_by):
        raise refuse("not_your_role", f"{question.answered_by} answers this question")
    record = AnswerRecord(state.phase, where, cmd.question, cmd.person, cmd.text, d.now)
    d.update(answers=(*state.answers, record))
    d.event(
        "question_answered",
        cmd.person,
        phase=state.phase,
        stage=where,
        question=cmd.question,
        text=cmd.text,
    )
    if state.status is RunStatus.AWAITING_GO_NO_GO:
        close_gate_if_ready(d)
    golive.settle(d)


def vote(d: Draft, cmd: Vote) -> None:
    state = d.state
    ask = state.gate
    if state.status is not RunStatus.AWAITING_GO_NO_GO or ask is None:
        raise refuse("not_waiting_for_that", "no go/no-go is being asked")
    if not holds(d.plan, cmd.person, cmd.role):
        raise refuse("not_your_role", f"{cmd.person} does not hold {cmd.role}")
    if cmd.role not in ask.roles:
        raise refuse("not_waiting_for_that", f"the go/no-go does not ask {cmd.role}")
    if cmd.repeats(state.votes):
        # The votes are this gate's (a new gate starts them afresh): the same
        # vote again is a retry, not a second decision to log and announce.
        d.repeated = True
        return
    votes = tuple(
        v for v in state.votes if (v.role, v.person) != (cmd.role, cmd.person)
    )
    record = VoteRecord(cmd.role, cmd.person, cmd.answer.value, cmd.comment, d.now)
    d.update(votes=(*votes, record))
    d.event(
        "voted",
        cmd.person,
        role=cmd.role,
        answer=cmd.answer.value,
        comment=cmd.comment,
        kind=ask.kind,
        launched_on_evidence=ask.kind == "undecided" and cmd.answer is Answer.LAUNCH,
    )
    decided = outcome(ask, d.state)
    if decided is GoNoGoOutcome.PIVOT:
        pivot(d, cmd.person)
    elif decided is GoNoGoOutcome.PAUSE:
        pause(d, f"go/no-go: {cmd.person} ({cmd.role}) answered Pause", cmd.person)
    else:
        close_gate_if_ready(d)


def pivot(d: Draft, person: str) -> None:
    """Step back one stage and wait for a revision of the plan."""
    state = d.state
    ask = state.gate
    assert ask is not None
    stage = state.stage
    target: int | None = None
    if ask.kind != "entry" and stage is not None:
        target = stage - 1 if stage > 0 else None
        phase = state.phase
        if target is None:
            for s in d.context.compiled(phase, stage).flags:
                d.flag_off(s, "pivoted", keep_allow_list=True)
        else:
            for s in d.context.compiled(phase, target).flags:
                d.set_flag(s, "pivoted")
        d.update(live_stage=target, stage=target if target is not None else 0)
    d.update(revision_required=True)
    pause(d, "go/no-go: Pivot; the plan needs a revision", person, to_stage=target)


def resume(d: Draft, cmd: Resume) -> None:
    state = d.state
    _member(d, cmd.person)
    if state.status is not RunStatus.PAUSED:
        raise refuse("not_waiting_for_that", "only a paused run resumes")
    if state.revision_required:
        raise refuse("needs_revision", "a Pivot asked for a plan revision")
    if state.rollback is not None:
        raise refuse("needs_re_enable", "a rollback needs an approved re-enable")
    part = d.plan.phases[state.phase]
    back_to_stage = (
        isinstance(part, RolloutPhase)
        and state.live_stage is not None
        and state.live_stage == state.stage
    )
    d.update(paused_reason=None, outside_changed=(), since=d.now)
    if back_to_stage:
        d.update(status=RunStatus.STAGE_RUNNING, clock=state.clock.started(d.now))
    else:
        d.update(status=RunStatus.WAITING_WINDOW)
    d.event("resumed", cmd.person, note=cmd.note)
    d.notice(NoticeKind.RESUMED, "Run resumed", cmd.note or "", leads(d.plan))
    advance(d)


def _incident_phase(d: Draft) -> int | None:
    """The phase a person's incident acts on: the current one if its flags are
    on, else the latest earlier rollout phase."""
    state = d.state
    if state.live_stage is not None:
        return state.phase
    earlier = [p for p, _ in d.plan.rollout_phases() if p < state.phase]
    return earlier[-1] if earlier else None


def raise_incident(d: Draft, cmd: RaiseIncident) -> None:
    _member(d, cmd.person)
    action = policy_action(d, cmd.severity)
    phase = _incident_phase(d)
    d.event(
        "incident_raised",
        cmd.person,
        severity=cmd.severity.value,
        note=cmd.note,
        action=action,
    )
    acting = phase is not None and action in ("disable_all", "step_back")
    if acting and d.state.status is not RunStatus.ROLLED_BACK:
        assert phase is not None
        act(
            d,
            phase,
            action,
            None,
            None,
            actor=cmd.person,
            note=cmd.note,
            severity=cmd.severity,
        )
        return
    open_incident(
        d,
        trigger="manual",
        severity=cmd.severity,
        phase=d.state.phase,
        stage=d.state.live_stage,
        action="continue",
        check=None,
        evaluation=None,
        actor=cmd.person,
        note=cmd.note,
        keep_open=False,
    )
    d.notice(NoticeKind.NEEDS_PERSON, "Incident logged", cmd.note, leads(d.plan))


def re_enable(d: Draft, cmd: ReEnable) -> None:
    state = d.state
    info = state.rollback
    if info is None or state.status not in (RunStatus.ROLLED_BACK, RunStatus.PAUSED):
        raise refuse("not_waiting_for_that", "nothing is rolled back")
    if not holds_any(d.plan, cmd.person, re_enable_roles(d.plan)):
        raise refuse("not_your_role", "re-enabling needs the re-enable approvers")
    if not cmd.root_cause.strip():
        raise refuse("needs_root_cause", "re-enabling needs a root-cause note")
    if info.revert_required and not info.revert_confirmed:
        raise refuse("revert_not_confirmed", "the revert is not confirmed yet")
    default = info.resume_stage
    if cmd.stage is not None and (
        cmd.stage < 0 or default is None or cmd.stage > default
    ):
        raise refuse("stage_too_high", f"re-enable resumes at stage {default} or lower")
    target = cmd.stage if cmd.stage is not None else default
    if info.action == "kill" or info.phase != state.phase:
        # Earlier phases' flags go back where their phase left them.
        for p, _ in d.plan.rollout_phases():
            if p < state.phase and (info.action == "kill" or p == info.phase):
                for s in d.context.compiled(p, last_stage(d, p)).flags:
                    d.set_flag(s, "re_enabled", force=True)
    update_incident(
        d,
        info.incident,
        close=True,
        root_cause=cmd.root_cause,
        re_enabled_by=cmd.person,
        re_enabled_at=iso(d.now),
        resumed_at_stage=target,
    )
    d.update(rollback=None, paused_reason=None, reported=(), since=d.now)
    d.event(
        "re_enabled",
        cmd.person,
        incident=info.incident,
        root_cause=cmd.root_cause,
        stage=target,
    )
    d.notice(NoticeKind.RESUMED, "Re-enabled", cmd.root_cause, leads(d.plan))
    part = d.plan.phases[state.phase]
    if isinstance(part, ManualPhase):
        d.update(status=RunStatus.MANUAL_PHASE)
        return
    if info.phase != state.phase and state.live_stage is not None:
        d.update(status=RunStatus.STAGE_RUNNING, clock=state.clock.started(d.now))
        return
    d.update(status=RunStatus.WAITING_WINDOW, stage=target)
    advance(d)


def confirm_revert(d: Draft, cmd: ConfirmRevert) -> None:
    info = d.state.rollback
    if info is None or not info.revert_required or info.revert_confirmed:
        raise refuse("not_waiting_for_that", "no revert is waiting to be confirmed")
    if not holds_any(d.plan, cmd.person, revert_roles(d.plan)):
        raise refuse("not_your_role", "reverts are confirmed by the revert roles")
    d.update(rollback=dataclasses.replace(info, revert_confirmed=True))
    d.event("revert_confirmed", cmd.person, incident=info.incident, note=cmd.note)
    update_incident(
        d, info.incident, revert_confirmed_by=cmd.person, revert_confirmed_at=iso(d.now)
    )


def revise(d: Draft, cmd: Revise) -> None:
    state = d.state
    if not holds_any(d.plan, cmd.person, leads(d.plan)):
        raise refuse("not_your_role", "the owner or product owner revises the plan")
    if cmd.loosens and not holds(d.plan, cmd.person, d.plan.product_owner):
        raise refuse(
            "needs_product_owner", "a loosening revision needs the product owner"
        )
    version = max(state.plan_version, state.pending_revision or 0) + 1
    d.update(pending_revision=version)
    d.event(
        "plan_revised",
        cmd.person,
        version=version,
        plan_hash=cmd.plan_hash,
        diff=cmd.diff,
        loosens=list(cmd.loosens),
        plan_text=cmd.plan_text,
    )
    if state.revision_required:
        # The Pivot's step back is the boundary: adopt now; the next call runs
        # the new plan from the stage the run stepped back to.
        adopt_revision(d)
        d.update(status=RunStatus.WAITING_WINDOW, paused_reason=None, since=d.now)


def finish_manual(d: Draft, cmd: FinishManualPhase) -> None:
    state = d.state
    part = d.plan.phases[state.phase]
    if state.status is not RunStatus.MANUAL_PHASE or not isinstance(part, ManualPhase):
        raise refuse("not_waiting_for_that", "no manual phase is running")
    if not holds(d.plan, cmd.person, part.owner):
        raise refuse("not_your_role", f"the phase's owner ({part.owner}) finishes it")
    bad = [i for i in cmd.done if not 0 <= i < len(part.checklist)]
    if bad:
        raise refuse("unknown_question", f"no checklist item #{bad[0]}")
    new = tuple(i for i in dict.fromkeys(cmd.done) if i not in state.checklist_done)
    done = (*state.checklist_done, *new)
    watched = d.now - state.since >= part.watch.delta
    complete = not part.checklist_required or len(set(done)) == len(part.checklist)
    if not (watched and complete):
        if not new:
            code = "watch_not_over" if not watched else "checklist_incomplete"
            raise refuse(code, "the phase's watch or checklist is not done")
        d.update(checklist_done=done)
        d.event("checklist_done", cmd.person, items=list(new), note=cmd.note)
        return
    d.update(checklist_done=done)
    d.event("manual_phase_finished", cmd.person, items=list(new), note=cmd.note)
    d.update(
        stage_results=(
            *state.stage_results,
            {
                "phase": state.phase,
                "stage": None,
                "phase_name": part.name,
                "kind": "manual",
                "entered_at": iso(state.since),
                "left_at": iso(d.now),
                "checklist_done": list(done),
                "finished_by": cmd.person,
            },
        )
    )
    prepare_phase(d, state.phase + 1)
