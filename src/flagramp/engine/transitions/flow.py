"""The run's way through its phases: windows, gates, stages entered and left."""

from __future__ import annotations

import datetime as dt

from flagramp.core.plans import GoNoGoOutcome, ManualPhase, RolloutPhase, stage_exit
from flagramp.core.types import Json
from flagramp.engine.evaluation import StageEvaluation
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_records import GateAsk, StageClock, iso
from flagramp.engine.run_state import RunStatus
from flagramp.engine.transitions import golive
from flagramp.engine.transitions.draft import Draft
from flagramp.engine.transitions.gates import gates_of, outcome, unanswered
from flagramp.engine.transitions.people import pause_roles
from flagramp.engine.transitions.windows import time_of_day_open, window_opens

#: How long the evidence may be missing before a stage pauses and asks. The
#: issue's default: ten minutes.
DATA_GRACE = dt.timedelta(minutes=10)


def prepare_phase(d: Draft, phase: int) -> None:
    """Go to a phase's start (its window, its entry gates), or complete the run."""
    if phase >= len(d.plan.phases):
        complete(d)
        return
    d.update(
        status=RunStatus.WAITING_WINDOW,
        phase=phase,
        stage=None,
        live_stage=None,
        since=d.now,
        gate=None,
        votes=(),
        checklist_done=(),
        reported=(),
        clock=StageClock(),
        stage_entered_at=None,
    )
    d.event("phase_started", phase=phase, name=d.plan.phases[phase].name)
    advance(d)


def advance(d: Draft) -> None:
    """Take the steps that need no one: windows open, gates asked, stages entered."""
    state = d.state
    if state.status is not RunStatus.WAITING_WINDOW:
        return
    part = d.plan.phases[state.phase]
    if state.stage is None and part.window and d.now < window_opens(part.window):
        return
    if isinstance(part, ManualPhase):
        if time_of_day_open(part.time_of_day, d.now):
            start_manual(d, part)
        return
    if state.stage is None:
        if gates_of(d.context, "entry", state.phase, None):
            ask_gate(d, "entry", 0, evidence=None)
            return
        d.update(stage=0)
    if time_of_day_open(part.time_of_day, d.now):
        enter_stage(d, d.state.stage or 0)


def start_manual(d: Draft, part: ManualPhase) -> None:
    d.update(status=RunStatus.MANUAL_PHASE, since=d.now, checklist_done=())
    d.event("manual_phase_started", phase=d.state.phase, name=part.name)
    d.notice(
        NoticeKind.NEEDS_PERSON,
        f"Manual phase {part.name} started",
        f"Watch for {part.watch}, do the checklist, then finish the phase.",
        (part.owner,),
    )


def enter_stage(d: Draft, stage: int) -> None:
    """Set every flag of the phase to the stage's percentage and run it."""
    part = d.plan.phases[d.state.phase]
    assert isinstance(part, RolloutPhase)
    stage = max(0, min(stage, len(part.stages) - 1))
    compiled = d.context.compiled(d.state.phase, stage)
    for setting in compiled.flags:
        d.set_flag(setting, "stage_entered")
    d.update(
        status=RunStatus.STAGE_RUNNING,
        stage=stage,
        live_stage=stage,
        since=d.now,
        stage_entered_at=d.now,
        clock=StageClock(0.0, d.now),
        reported=(),
        gate=None,
        votes=(),
        paused_reason=None,
    )
    d.event(
        "stage_entered",
        phase=d.state.phase,
        stage=stage,
        name=part.stages[stage].name,
        percentage=compiled.flags[0].percentage.value if compiled.flags else 0.0,
        flags=[s.flag for s in compiled.flags],
        allow_list_only=compiled.allow_list_only,
    )


def evidence_of(d: Draft, evaluation: StageEvaluation | None) -> dict[str, Json]:
    """What a go/no-go is shown, frozen when it is asked."""
    frozen: dict[str, Json] = {"risks": list(d.plan.risks)}
    if evaluation is not None:
        frozen["evaluation"] = evaluation.to_json()
        frozen["counted_minutes"] = d.state.counted_minutes(d.now)
    return frozen


def guards_of(evidence: dict[str, Json] | None) -> list[Json]:
    """Each criterion's mode and decision in a stage's evidence, in short: what
    `stage_left` keeps, so `/metrics` counts decisions without reading the
    whole evidence (`store.run_totals`)."""
    evaluation = (evidence or {}).get("evaluation")
    checks = evaluation.get("checks") if isinstance(evaluation, dict) else None
    guards: list[Json] = []
    for check in checks if isinstance(checks, list) else ():
        if not isinstance(check, dict) or not isinstance(check.get("decision"), dict):
            continue
        decision = check["decision"]
        assert isinstance(decision, dict)
        guards.append(
            {
                "criterion": check.get("criterion"),
                "mode": check.get("mode"),
                "decision": decision.get("outcome"),
            }
        )
    return guards


def ask_gate(d: Draft, kind: str, index: int, evidence: dict[str, Json] | None) -> None:
    """Ask one go/no-go: the run waits for its roles' answers."""
    state = d.state
    gate = gates_of(d.context, kind, state.phase, state.stage)[index]
    ask = GateAsk(kind, index, gate.roles, gate.quorum, d.now, evidence)
    d.update(status=RunStatus.AWAITING_GO_NO_GO, gate=ask, votes=(), since=d.now)
    d.event(
        "go_no_go_asked",
        kind=kind,
        index=index,
        roles=list(gate.roles),
        quorum=gate.quorum,
        evidence=evidence,
    )
    where = d.plan.phases[state.phase].name
    d.notice(
        NoticeKind.NEEDS_PERSON,
        f"Go/no-go: {where}",
        f"Answer Launch, Pause or Pivot ({kind}).",
        gate.roles,
        kind=kind,
    )


def close_gate_if_ready(d: Draft) -> None:
    """A gate whose votes say Go, with its stage's questions answered, passes."""
    ask = d.state.gate
    if ask is None or outcome(ask, d.state) is not GoNoGoOutcome.GO:
        return
    stage = d.state.stage
    if (
        ask.kind != "entry"
        and stage is not None
        and unanswered(d.plan, d.state, d.state.phase, stage)
    ):
        return
    d.event("go_no_go_passed", kind=ask.kind, index=ask.index)
    golive.record_decision(d, ask)
    following = gates_of(d.context, ask.kind, d.state.phase, stage)
    if ask.index + 1 < len(following):
        ask_gate(d, ask.kind, ask.index + 1, ask.evidence)
        return
    if ask.kind == "entry":
        d.update(status=RunStatus.WAITING_WINDOW, stage=0, gate=None, votes=())
        advance(d)
        return
    decision = "launched_on_evidence" if ask.kind == "undecided" else "passed"
    leave_stage(d, decision, ask.evidence)


def leave_stage(d: Draft, decision: str, evidence: dict[str, Json] | None) -> None:
    """Record the stage's result and go to the next stage, phase or the end."""
    state = d.state
    assert state.stage is not None
    part = d.plan.phases[state.phase]
    assert isinstance(part, RolloutPhase)
    result: dict[str, Json] = {
        "phase": state.phase,
        "stage": state.stage,
        "phase_name": part.name,
        "stage_name": part.stages[state.stage].name,
        "percentage": d.context.compiled(state.phase, state.stage).treatment_share
        * 100,
        "entered_at": iso(state.stage_entered_at),
        "left_at": iso(d.now),
        "counted_minutes": state.counted_minutes(d.now),
        "decision": decision,
        "evidence": evidence,
        "votes": [v.to_json() for v in state.votes],
        "answers": [
            a.to_json()
            for a in state.answers
            if (a.phase, a.stage) == (state.phase, state.stage)
        ],
    }
    rollback = state.rollback
    if rollback is not None and rollback.phase == state.phase:
        # An automatic climb after a step back: the stage passed again.
        rollback = None
    d.update(
        stage_results=(*state.stage_results, result),
        gate=None,
        votes=(),
        rollback=rollback,
        clock=state.clock.stopped(d.now),
    )
    d.event(
        "stage_left",
        phase=state.phase,
        stage=state.stage,
        decision=decision,
        guards=guards_of(evidence),
    )
    last = state.stage + 1 >= len(part.stages)
    revised = state.pending_revision is not None
    if revised:
        # The next stage is entered by the next call, with the new plan.
        adopt_revision(d)
    if not last:
        d.update(status=RunStatus.WAITING_WINDOW, stage=state.stage + 1, since=d.now)
        if not revised:
            advance(d)
        return
    d.event("phase_completed", phase=state.phase, name=part.name)
    if golive.is_last_rollout_phase(d, state.phase):
        golive.record_go_live(d)
    if not revised or state.phase + 1 >= len(d.plan.phases):
        prepare_phase(d, state.phase + 1)
        return
    d.update(
        status=RunStatus.WAITING_WINDOW,
        phase=state.phase + 1,
        stage=None,
        live_stage=None,
        since=d.now,
        checklist_done=(),
    )


def adopt_revision(d: Draft) -> None:
    """A pending revision becomes the plan the run follows (from the next call)."""
    version = d.state.pending_revision
    if version is None:
        return
    d.update(plan_version=version, pending_revision=None, revision_required=False)
    d.event("plan_adopted", version=version)


def complete(d: Draft) -> None:
    """The plan's last phase is done: watch the go live, or finish."""
    if d.plan.go_live is None:
        golive.finish(d)
        return
    golive.enter_watching(d)


def pause(d: Draft, reason: str, actor: str | None = None, **data: Json) -> None:
    """Freeze the stage at its percentage and ask people."""
    state = d.state
    d.update(
        status=RunStatus.PAUSED,
        paused_reason=reason,
        since=d.now,
        gate=None,
        votes=(),
        clock=state.clock.stopped(d.now),
    )
    d.event("paused", actor, reason=reason, **data)
    roles = pause_roles(d.plan, state.phase, state.live_stage)
    d.notice(NoticeKind.PAUSED, "Run paused", reason, roles, reason=reason)


def exit_stage(d: Draft, evaluation: StageEvaluation, *, undecided: bool) -> None:
    """The stage's own conditions hold (or its max_time passed): ask or leave."""
    state = d.state
    assert state.stage is not None
    kind = "undecided" if undecided else "exit"
    evidence = evidence_of(d, evaluation)
    if gates_of(d.context, kind, state.phase, state.stage):
        ask_gate(d, kind, 0, evidence)
        return
    leave_stage(d, "passed", evidence)


def stage_may_exit(d: Draft, evaluation: StageEvaluation) -> str | None:
    """`exit`, `undecided` or None: what the stage's conditions allow now."""
    state = d.state
    assert state.stage is not None and state.stage_entered_at is not None
    compiled = d.context.compiled(state.phase, state.stage)
    rule = stage_exit(d.plan, state.phase, state.stage)
    rollback = state.rollback
    if (
        rollback is not None
        and rollback.revert_required
        and not rollback.revert_confirmed
    ):
        return None
    if rule.by_go_no_go_only:
        # A UAT stage's few allow-listed users give sparse data: its hold is
        # counted on the wall clock, and only its go/no-go moves it on.
        held = d.now - state.stage_entered_at >= compiled.hold.delta
        return "exit" if held else None
    counted = state.clock.seconds(d.now)
    held = counted >= compiled.hold.seconds
    sampled = (
        compiled.min_sample is None or evaluation.treatment_users >= compiled.min_sample
    ) and (
        compiled.min_requests is None or evaluation.requests >= compiled.min_requests
    )
    calm = not evaluation.harmful
    if (
        held
        and sampled
        and calm
        and (evaluation.acting_healthy or rule.completes_phase)
    ):
        return "exit"
    if counted >= compiled.max_time.seconds:
        return "undecided"
    return None
