"""Harm and what it does: criteria modes, rollback by severity, kill, incidents.

A harmful acting criterion in `pause` mode pauses; in `rollback` mode it applies
`plan.rollback.severities[severity]`: `disable_all` turns the phase's flags off
for everyone, `step_back` goes to the previous stage's percentage (from the first
stage: the allow list only, paused), `continue` logs. A criterion that does not
act (observe mode, a UAT stage, a run in observe mode) only reports what it
would have done. Each criterion acts or reports once per stage attempt.
"""

from __future__ import annotations

import dataclasses
import math

from flagramp.core.plans import (
    Action,
    Mode,
    ResumeAt,
    RolloutPhase,
    resume_stage,
    step_back_to,
)
from flagramp.core.plans.rollback import AfterStepBack
from flagramp.core.severity import Severity
from flagramp.core.types import Json
from flagramp.engine.compiled import FlagSetting
from flagramp.engine.evaluation import CheckResult, Observation, StageEvaluation
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_records import (
    NOT_EFFECTIVE,
    PENDING,
    VERIFIED,
    RollbackInfo,
    StageClock,
    iso,
)
from flagramp.engine.run_state import RunStatus
from flagramp.engine.transitions.draft import Draft
from flagramp.engine.transitions.flow import pause
from flagramp.engine.transitions.people import (
    kill_roles,
    leads,
    re_enable_roles,
    revert_roles,
)

#: Stronger actions win when several criteria fail at one tick.
_STRENGTH = {"continue": 0, "pause": 1, "step_back": 2, "disable_all": 3}
#: A step back's share must be within this many standard errors of the new share.
VERIFY_SIGMAS = 4.0


def intended(d: Draft, check: CheckResult) -> str:
    """What the criterion's failure does by its mode and severity."""
    if check.mode is Mode.OBSERVE:
        return "observe"
    if check.mode is Mode.PAUSE:
        return "pause"
    return policy_action(d, check.decision.severity)


def policy_action(d: Draft, severity: Severity) -> str:
    policy = d.plan.rollback.severities.get(severity) if d.plan.rollback else None
    return policy.action.value if policy is not None else Action.CONTINUE.value


def check_harm(d: Draft, phase: int, evaluation: StageEvaluation) -> None:
    """Act on (or report) criteria newly harmful in the phase's evaluation."""
    fresh = [
        c
        for c in evaluation.harmful
        if f"{phase}:{c.criterion}" not in d.state.reported
    ]
    if not fresh:
        return
    d.update(reported=(*d.state.reported, *(f"{phase}:{c.criterion}" for c in fresh)))
    strongest: CheckResult | None = None
    for check in fresh:
        action = intended(d, check)
        acts = check.acts and not d.context.observe and action != "observe"
        data: dict[str, Json] = {
            "phase": phase,
            "stage": d.state.live_stage if phase == d.state.phase else None,
            "criterion": check.criterion,
            "severity": check.decision.severity.value,
            "action": action,
            "decision": check.to_json(),
        }
        if not acts:
            kind = {
                "pause": "would_pause",
                "step_back": "would_roll_back",
                "disable_all": "would_roll_back",
            }.get(action, "guard_harmful")
            d.event(kind, **data)
            continue
        d.event("guard_harmful", **data)
        if action == "continue":
            continue
        if strongest is None or _STRENGTH[action] > _STRENGTH[intended(d, strongest)]:
            strongest = check
    if strongest is not None:
        act(d, phase, intended(d, strongest), strongest, evaluation)


def act(
    d: Draft,
    phase: int,
    action: str,
    check: CheckResult | None,
    evaluation: StageEvaluation | None,
    *,
    actor: str | None = None,
    note: str = "",
    severity: Severity | None = None,
) -> None:
    """Apply an action to a phase's flags (the current or an earlier one)."""
    if action == "pause":
        if d.state.status in (RunStatus.PAUSED, RunStatus.ROLLED_BACK):
            return
        reason = f"criterion {check.criterion} is harmful" if check else note
        pause(d, reason or "paused by an incident", actor)
        return
    if action in (Action.DISABLE_ALL.value, Action.STEP_BACK.value):
        roll_back(d, phase, action, check, evaluation, actor, note, severity)


def _phase_settings(d: Draft, phase: int, stage: int) -> tuple[FlagSetting, ...]:
    return d.context.compiled(phase, stage).flags


def last_stage(d: Draft, phase: int) -> int:
    part = d.plan.phases[phase]
    assert isinstance(part, RolloutPhase)
    return len(part.stages) - 1


def roll_back(
    d: Draft,
    phase: int,
    action: str,
    check: CheckResult | None,
    evaluation: StageEvaluation | None,
    actor: str | None,
    note: str,
    severity: Severity | None,
) -> None:
    """disable_all or step_back on a phase's flags, with an incident."""
    state = d.state
    current = phase == state.phase
    from_stage = state.live_stage if current else last_stage(d, phase)
    if from_stage is None:
        return
    severity = severity or (check.decision.severity if check else Severity.CRITICAL)
    settings = _phase_settings(d, phase, from_stage)
    to_stage: int | None = None
    expected = 0.0
    # A rollback takes users off the feature: it overrides a change made outside
    # the run (which then counts as seen), as the kill switch does.
    if action == Action.DISABLE_ALL.value:
        for s in settings:
            d.flag_off(s, "rolled_back", force=True)
    else:
        to_stage = step_back_to(from_stage)
        if to_stage is None:
            for s in settings:
                d.flag_off(s, "stepped_back", keep_allow_list=True, force=True)
        else:
            lower = d.context.compiled(phase, to_stage)
            expected = lower.treatment_share
            for s in lower.flags:
                d.set_flag(s, "stepped_back", force=True)
    policy = d.plan.rollback.severities.get(severity) if d.plan.rollback else None
    incident = open_incident(
        d,
        trigger="criterion" if check else "manual",
        severity=severity,
        phase=phase,
        stage=from_stage,
        action=action,
        check=check,
        evaluation=evaluation,
        actor=actor,
        note=note,
    )
    re_enable = d.plan.rollback.re_enable if d.plan.rollback else None
    resume_at = re_enable.resume_at if re_enable else ResumeAt.PREVIOUS_STAGE
    info = RollbackInfo(
        incident=incident,
        action=action,
        phase=phase,
        from_stage=from_stage,
        to_stage=to_stage,
        resume_stage=resume_stage(resume_at, from_stage),
        acted_at=d.now,
        expected_share=expected,
        revert_required=bool(policy and policy.revert_required),
    )
    moved = {m.flag for m in d.moves}
    overridden: list[Json] = [f for f in state.outside_changed if f in moved]
    if overridden:
        d.event("outside_change_overridden", actor, flags=overridden, action=action)
    d.update(
        rollback=info,
        reported=(),
        gate=None,
        votes=(),
        outside_changed=tuple(f for f in state.outside_changed if f not in moved),
    )
    automatic = re_enable is not None and (
        re_enable.after_step_back is AfterStepBack.AUTOMATIC
    )
    if current and to_stage is not None and automatic:
        # The lower stage runs its hold and criteria again and climbs by itself.
        d.update(
            status=RunStatus.STAGE_RUNNING,
            stage=to_stage,
            live_stage=to_stage,
            since=d.now,
            stage_entered_at=d.now,
            clock=StageClock(0.0, d.now),
            paused_reason=None,
        )
    elif current and to_stage is None and action == Action.STEP_BACK.value:
        d.update(
            status=RunStatus.PAUSED,
            live_stage=None,
            since=d.now,
            clock=state.clock.stopped(d.now),
            paused_reason="stepped back from the first stage to the allow list only",
        )
    elif current:
        d.update(
            status=RunStatus.ROLLED_BACK,
            stage=to_stage if to_stage is not None else state.stage,
            live_stage=to_stage,
            since=d.now,
            clock=state.clock.stopped(d.now),
        )
    else:
        d.update(
            status=RunStatus.ROLLED_BACK,
            since=d.now,
            clock=state.clock.stopped(d.now),
        )
    d.event(
        "rolled_back",
        actor,
        action=action,
        phase=phase,
        from_stage=from_stage,
        to_stage=to_stage,
        incident=incident,
        criterion=check.criterion if check else None,
        severity=severity.value,
        revert_required=info.revert_required,
    )
    roles = re_enable_roles(d.plan)
    if info.revert_required:
        roles = (*revert_roles(d.plan), *roles)
    d.notice(
        NoticeKind.ROLLED_BACK,
        f"Rolled back: {d.plan.phases[phase].name}",
        f"{action} after {check.criterion if check else 'an incident'}"
        f" ({severity.value}); re-enabling needs a root cause and approval.",
        roles,
        incident=incident,
        action=action,
    )


def open_incident(
    d: Draft,
    *,
    trigger: str,
    severity: Severity,
    phase: int,
    stage: int | None,
    action: str,
    check: CheckResult | None,
    evaluation: StageEvaluation | None,
    actor: str | None,
    note: str = "",
    keep_open: bool = True,
) -> str:
    """Write a new incident; open ones stay in the state until re-enabled."""
    ident = f"I{d.state.incident_count + 1}"
    record: dict[str, Json] = {
        "incident": ident,
        "status": "open" if keep_open else "logged",
        "trigger": trigger,
        "severity": severity.value,
        "phase": phase,
        "stage": stage,
        "action": action,
        "criterion": check.criterion if check else None,
        "evidence": check.to_json() if check else None,
        "evaluation": evaluation.to_json() if evaluation else None,
        "detected_at": iso(d.now),
        "acted_at": iso(d.now),
        "verified_at": None,
        "fingerprints": list(evaluation.fingerprints) if evaluation else [],
        "users_affected": evaluation.treatment_users if evaluation else None,
        "acted_by": actor,
        "note": note,
        "root_cause": None,
        "re_enabled_by": None,
        "re_enabled_at": None,
    }
    d.update(incident_count=d.state.incident_count + 1)
    if keep_open:
        d.update(incidents=(*d.state.incidents, record))
    d.incident(record)
    return ident


def update_incident(
    d: Draft, ident: str, *, close: bool = False, **changes: Json
) -> None:
    """Change an open incident; a closed one leaves the state."""
    kept: list[dict[str, Json]] = []
    for record in d.state.incidents:
        if record.get("incident") == ident:
            record = {**record, **changes}
            if close:
                record["status"] = "closed"
            d.incident(record)
            if close:
                continue
        kept.append(record)
    d.update(incidents=tuple(kept))


def verify(d: Draft, observation: Observation) -> None:
    """After a rollback: did the traffic follow? (seed 003: confirm routing back)."""
    info = d.state.rollback
    if info is None or info.verification != PENDING or d.now < info.judged_at:
        return
    if info.expected_share <= 0:
        seen = observation.treatment_exposures_after
        if seen is None:
            return
        effective = seen == 0
        data: dict[str, Json] = {"treatment_exposures": seen}
    else:
        share = observation.treatment_share_seen
        users = observation.exposed_users_after
        if share is None or not users:
            return
        p = info.expected_share
        sigma = math.sqrt(p * (1 - p) / users)
        effective = abs(share - p) <= VERIFY_SIGMAS * sigma
        data = {"share": share, "expected": p, "users": users}
    if effective:
        d.update(rollback=_replace(info, VERIFIED))
        d.event("rollback_verified", incident=info.incident, at=iso(d.now), **data)
        update_incident(d, info.incident, verified_at=iso(d.now))
        return
    d.update(rollback=_replace(info, NOT_EFFECTIVE))
    d.event("rollback_not_effective", incident=info.incident, **data)
    update_incident(d, info.incident, not_effective_at=iso(d.now))
    d.notice(
        NoticeKind.ROLLED_BACK,
        "Rollback not effective",
        "Treatment traffic did not follow the rollback: an SDK or a cache may not"
        " have picked up the change.",
        (*kill_roles(d.plan), *re_enable_roles(d.plan)),
        incident=info.incident,
        alert=True,
    )


def _replace(info: RollbackInfo, verification: str) -> RollbackInfo:
    return dataclasses.replace(info, verification=verification)


def kill(d: Draft, person: str, note: str) -> None:
    """Every flag of the current and earlier phases off for everyone, now."""
    state = d.state
    for p, _ in d.plan.rollout_phases():
        if p > state.phase:
            break
        for s in _phase_settings(d, p, 0):
            d.flag_off(s, "killed", force=True)
    from_stage = state.live_stage
    re_enable = d.plan.rollback.re_enable if d.plan.rollback else None
    resume_at = re_enable.resume_at if re_enable else ResumeAt.PREVIOUS_STAGE
    incident = open_incident(
        d,
        trigger="kill",
        severity=Severity.CRITICAL,
        phase=state.phase,
        stage=from_stage,
        action="kill",
        check=None,
        evaluation=None,
        actor=person,
        note=note,
    )
    info = RollbackInfo(
        incident=incident,
        action="kill",
        phase=state.phase,
        from_stage=from_stage,
        to_stage=None,
        resume_stage=None
        if from_stage is None
        else resume_stage(resume_at, from_stage),
        acted_at=d.now,
        expected_share=0.0,
    )
    d.update(
        status=RunStatus.ROLLED_BACK,
        live_stage=None,
        rollback=info,
        reported=(),
        gate=None,
        votes=(),
        since=d.now,
        outside_changed=(),
        clock=state.clock.stopped(d.now),
    )
    d.event("killed", person, incident=incident, note=note)
    d.notice(
        NoticeKind.KILLED,
        f"Kill switch: {d.plan.title}",
        f"{person} turned every flag of the run off. {note}".strip(),
        (*re_enable_roles(d.plan), *leads(d.plan)),
        incident=incident,
    )
