"""Go live, its checkpoints, people's answers to them, and the run's end.

- Go live is recorded when the plan's last rollout stage completes
  (`record_go_live`): the KPI targets, the go-live go/no-go's answers, the
  holdbacks released `at: go_live`. Earlier phases' watches stop then.
- Once every phase is done (`enter_watching`) the run is GO_LIVE_WATCHING until
  the next checkpoint's time, then CHECKPOINT_DUE until the controller passes the
  computed `CheckpointResult` in `Observation.checkpoint` (`watch`).
- A recorded checkpoint's questions for people wait for a person of their role
  (`answer_checkpoint`); a computed result never carries a person's answer.
- After the last checkpoint (holdbacks `at: last_checkpoint` released there),
  the run completes once no question for people is left unanswered, or when the
  owner or product owner closes it with questions still open (`close`); it
  proposes retiring its flags (`finish`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from flagramp.core.flags import Percentage
from flagramp.core.plans import Answer, HoldbackUntil, Plan, Question
from flagramp.core.types import Json
from flagramp.engine.checkpoint_result import (
    CheckpointError,
    CheckpointResult,
    QuestionStatus,
)
from flagramp.engine.checkpoints import answer_question
from flagramp.engine.commands import AnswerQuestion, CommandRefused
from flagramp.engine.evaluation import Observation
from flagramp.engine.go_live_records import (
    GoLiveDecision,
    GoLiveRecord,
    KpiTarget,
    RetireItem,
)
from flagramp.engine.go_live_schedule import (
    DueCheckpoint,
    checkpoint_order,
    go_live_scope,
    next_checkpoint,
    open_questions,
    run_flags,
)
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_records import GateAsk, iso
from flagramp.engine.run_state import RunStatus
from flagramp.engine.transitions.draft import Draft
from flagramp.engine.transitions.gates import gates_of
from flagramp.engine.transitions.people import leads


def record_decision(d: Draft, ask: GateAsk) -> None:
    """Keep the go-live go/no-go's answers when the gate passing is that one."""
    go_live = d.plan.go_live
    if go_live is None or go_live.go_no_go is None:
        return
    gates = gates_of(d.context, ask.kind, d.state.phase, d.state.stage)
    # Identity, not equality: a stage's own gate may ask the same roles.
    if ask.index >= len(gates) or gates[ask.index] is not go_live.go_no_go:
        return
    votes = tuple(v for v in d.state.votes if v.answer == Answer.LAUNCH.value)
    d.update(go_live_decision=GoLiveDecision(ask.roles, votes, d.now))


def is_last_rollout_phase(d: Draft, phase: int) -> bool:
    phases = [p for p, _ in d.plan.rollout_phases()]
    return bool(phases) and phase == phases[-1]


def record_go_live(d: Draft) -> None:
    """The last rollout stage completed: the go live, once per run."""
    go_live = d.plan.go_live
    if go_live is None or d.state.go_live is not None:
        return
    record = GoLiveRecord(
        d.now, tuple(KpiTarget.of(k) for k in go_live.kpis), d.state.go_live_decision
    )
    d.update(go_live=record, go_live_decision=None)
    decision = record.decision
    d.event(
        "went_live",
        at=iso(d.now),
        kpis=[k.to_json() for k in record.kpis],
        decided_by=[] if decision is None else [v.to_json() for v in decision.votes],
        decided_at=None if decision is None else iso(decision.at),
        checkpoints=[
            {
                "name": c.name,
                "after": c.after.text,
                "due_at": iso(d.now + c.after.delta),
            }
            for c in checkpoint_order(d.plan)
        ],
        scope=go_live_scope(d.context.run),
        flags=list(run_flags(d.plan)),
    )
    release_holdbacks(d, HoldbackUntil.GO_LIVE)


def release_holdbacks(d: Draft, moment: HoldbackUntil) -> None:
    """The held-back users get the feature: each such phase's flags to its last
    stage's own percentage (the holdback no longer taken off)."""
    for p, part in d.plan.rollout_phases():
        if part.holdback <= 0 or part.holdback_until is not moment:
            continue
        last = len(part.stages) - 1
        percent = part.stages[last].percentage
        full = Percentage.parse(f"{percent:.3f}".rstrip("0").rstrip("."))
        settings = d.context.compiled(p, last).flags
        for setting in settings:
            d.set_flag(
                dataclasses.replace(setting, percentage=full), "holdback_released"
            )
        d.event(
            "holdback_released",
            phase=p,
            flags=[s.flag for s in settings],
            percentage=full.value,
            until=moment.value,
        )


def enter_watching(d: Draft) -> None:
    """Every phase is done: watch the go live (again, after a re-enable)."""
    fresh = any(e.kind == "went_live" for e in d.events)
    if d.state.go_live is None:
        # A plan whose go live has no rollout stage to complete.
        record_go_live(d)
        fresh = True
    d.update(status=RunStatus.GO_LIVE_WATCHING, since=d.now, gate=None, votes=())
    plan = d.plan
    due = next_checkpoint(d.context.run, plan, d.state)
    if not fresh:
        # Live before a rollback and its re-enable: the go live and its
        # checkpoints stand; holdbacks already released are released again.
        d.event("live_again", checkpoints_recorded=len(d.state.checkpoints))
        release_holdbacks(d, HoldbackUntil.GO_LIVE)
        if due is None:
            release_holdbacks(d, HoldbackUntil.LAST_CHECKPOINT)
    what = "The plan's last stage is done."
    if due is not None:
        what += f" Next checkpoint: {due.checkpoint.name} at {iso(due.due_at)}."
    d.notice(NoticeKind.COMPLETED, f"{plan.title}: live", what, leads(plan))
    settle(d)


def watch(d: Draft, observation: Observation) -> None:
    """A live run at one tick: a checkpoint falls due, or is recorded."""
    due = next_checkpoint(d.context.run, d.plan, d.state)
    if due is None:
        return
    if d.state.status is RunStatus.GO_LIVE_WATCHING:
        if d.now < due.due_at:
            return
        d.update(status=RunStatus.CHECKPOINT_DUE, since=d.now)
        d.event(
            "checkpoint_due",
            checkpoint=due.checkpoint.name,
            index=due.index,
            due_at=iso(due.due_at),
            start_minute=due.start_minute,
            end_minute=due.end_minute,
            scope=due.scope,
            flag=due.flag,
        )
    result = observation.checkpoint
    if result is None:
        return
    problem = mismatch(d, due, result)
    if problem is not None:
        d.event("checkpoint_refused", checkpoint=result.checkpoint, reason=problem)
        return
    record(d, due, result)


def mismatch(d: Draft, due: DueCheckpoint, result: CheckpointResult) -> str | None:
    """Why a computed result is not the due checkpoint's, or None."""
    if result.checkpoint != due.checkpoint.name:
        return f"the due checkpoint is {due.checkpoint.name!r}"
    if (result.start_minute, result.end_minute) != (due.start_minute, due.end_minute):
        return (
            f"its span must be minutes {due.start_minute}..{due.end_minute}"
            " (go live to the checkpoint)"
        )
    go_live = d.plan.go_live
    kpis = () if go_live is None or not due.checkpoint.kpis else go_live.kpis
    if [k.name for k in result.kpis] != [k.name for k in kpis]:
        return "every KPI of the plan needs its actual, and only those"
    for q in result.questions:
        for item in (q, q.follow_up):
            if item is None or item.query is not None:
                continue
            if item.status is not QuestionStatus.AWAITING or item.answer is not None:
                # Never invented: a person's answer comes in by AnswerQuestion.
                return f"question {item.text!r} is for people: it must be awaiting"
    return None


def record(d: Draft, due: DueCheckpoint, result: CheckpointResult) -> None:
    """Keep the checkpoint, tell people, and go on watching (or finish)."""
    plan = d.plan
    d.update(
        checkpoints=(*d.state.checkpoints, result),
        status=RunStatus.GO_LIVE_WATCHING,
        since=d.now,
    )
    awaiting = result.awaiting()
    d.event(
        "checkpoint_recorded",
        checkpoint=result.checkpoint,
        index=due.index,
        result=result.to_json(),
        awaiting=[{"question": q, "role": r} for q, r in awaiting],
    )
    kpis = "; ".join(
        f"{k.name}: {'no data' if k.actual.value is None else f'{k.actual.value:.3g}'}"
        f" ({k.target}, {k.status.value.replace('_', ' ')})"
        for k in result.kpis
    )
    text = f"{result.unique_users} unique users."
    if kpis:
        text += f" KPIs: {kpis}."
    if awaiting:
        text += f" {len(awaiting)} question(s) wait for people's answers."
    roles = (*leads(plan), *(r for _, r in awaiting if r is not None))
    d.notice(
        NoticeKind.CHECKPOINT,
        f"{plan.title}: {result.checkpoint}",
        text,
        tuple(dict.fromkeys(roles)),
        checkpoint=result.checkpoint,
    )
    if due.last:
        release_holdbacks(d, HoldbackUntil.LAST_CHECKPOINT)
    settle(d)


def answer_checkpoint(d: Draft, cmd: AnswerQuestion) -> bool:
    """Write a person's answer into a recorded checkpoint; False if none asks it.

    Raises CommandRefused: `unknown_question` (no checkpoint of that name),
    `answered_by_query`, `not_your_role`.
    """
    results = d.state.checkpoints
    if cmd.checkpoint is not None:
        found = [i for i, r in enumerate(results) if r.checkpoint == cmd.checkpoint]
        if not found:
            raise CommandRefused(
                f"no checkpoint {cmd.checkpoint!r} is recorded", code="unknown_question"
            )
    else:
        found = [
            i
            for i, r in enumerate(results)
            if any(text == cmd.question for text, _ in r.awaiting())
        ] or [i for i, r in enumerate(results) if _asks(r, cmd.question)]
        if not found:
            return False
    index = found[-1]
    result = results[index]
    try:
        if result.question(cmd.question).query is not None:
            raise CommandRefused(
                "a query answers this question", code="answered_by_query"
            )
        answered = answer_question(
            d.plan, result, cmd.question, cmd.text, cmd.person, d.now
        )
    except CheckpointError as exc:
        code = "unknown_question" if exc.code == "question_not_found" else exc.code
        if exc.code == "answer_refused":
            code = "not_your_role"
        raise CommandRefused(exc.reason, code=code) from exc
    updated = (*results[:index], answered, *results[index + 1 :])
    d.update(checkpoints=updated)
    d.event(
        "question_answered",
        cmd.person,
        checkpoint=result.checkpoint,
        question=cmd.question,
        text=cmd.text,
    )
    return True


def asked_at_a_checkpoint(plan: Plan, text: str) -> bool:
    """Whether a checkpoint of the plan asks the question (the post-launch
    questions are asked at the last one)."""
    order = checkpoint_order(plan)
    if not order or plan.go_live is None:
        return False
    asked = [*(q for c in order for q in c.record.questions), *plan.go_live.questions]
    return any(q.text == text for q in _with_follow_ups(asked))


def _with_follow_ups(questions: Iterable[Question]) -> Iterator[Question]:
    for question in questions:
        yield question
        if question.follow_up is not None:
            yield from _with_follow_ups((question.follow_up,))


def _asks(result: CheckpointResult, text: str) -> bool:
    try:
        result.question(text)
    except CheckpointError:
        return False
    return True


def settle(d: Draft) -> None:
    """A live run with every checkpoint recorded and answered completes."""
    if not d.state.is_live:
        return
    if next_checkpoint(d.context.run, d.plan, d.state) is not None:
        return
    if open_questions(d.plan, d.state):
        return
    finish(d)


def close(d: Draft, person: str, note: str) -> None:
    """The owner or product owner ends a live run whose questions still wait:
    they stay `awaiting` in the record, never filled in."""
    if next_checkpoint(d.context.run, d.plan, d.state) is not None:
        raise CommandRefused(
            "a checkpoint is still to come", code="checkpoints_pending"
        )
    finish(d, person, note)


def finish(d: Draft, person: str | None = None, note: str = "") -> None:
    """The run completes and proposes retiring every flag it launched."""
    plan = d.plan
    unanswered: list[Json] = [
        {"checkpoint": where, "question": text, "role": role}
        for where, text, role in open_questions(plan, d.state)
    ]
    d.update(status=RunStatus.COMPLETED, since=d.now, gate=None, votes=())
    d.event("completed", person, note=note, unanswered=unanswered)
    d.notice(NoticeKind.COMPLETED, f"{plan.title}: completed", note or "", leads(plan))
    propose_retirement(d)


def propose_retirement(d: Draft) -> None:
    """A checklist item per flag of the run: remove the code path it guarded."""
    plan = d.plan
    flags = run_flags(plan)
    if not flags:
        return
    items = tuple(
        RetireItem(
            flag,
            f"Remove the code path {flag} switched between (keep the launched one)"
            f" and delete the flag {flag}: it is ready to remove.",
            plan.owner,
        )
        for flag in flags
    )
    d.update(retirement=items)
    d.event(
        "retire_proposed",
        flags=list(flags),
        checklist=[i.to_json() for i in items],
    )
    d.notice(
        NoticeKind.NEEDS_PERSON,
        f"{plan.title}: retire its flags",
        "Ready to remove: " + ", ".join(flags) + ". Remove their old code paths.",
        (plan.owner,),
        flags=list(flags),
    )
