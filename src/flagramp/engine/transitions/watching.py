"""What a tick makes of the evidence: data health, outside changes, stage exits."""

from __future__ import annotations

from flagramp.core.plans import RolloutPhase
from flagramp.engine.evaluation import Observation, StageEvaluation
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_records import iso
from flagramp.engine.run_state import RunStatus
from flagramp.engine.transitions.draft import Draft
from flagramp.engine.transitions.flow import (
    DATA_GRACE,
    exit_stage,
    pause,
    stage_may_exit,
)
from flagramp.engine.transitions.harm import check_harm
from flagramp.engine.transitions.people import leads
from flagramp.engine.transitions.windows import minute_time, window_closes

#: Statuses in which the run is about to move flags, or moving them itself.
_MOVING = (
    RunStatus.STAGE_RUNNING,
    RunStatus.AWAITING_GO_NO_GO,
    RunStatus.WAITING_WINDOW,
)


def run_flags(d: Draft) -> tuple[str, ...]:
    """Flags of the current and earlier rollout phases."""
    found: list[str] = []
    for p, part in d.plan.rollout_phases():
        if p <= d.state.phase:
            found.extend(f for f in part.flags if f not in found)
    return tuple(found)


def outside_changes(d: Draft, observation: Observation) -> None:
    """A flag of the run changed by someone else: pause and ask, never overwrite."""
    mine = run_flags(d)
    fresh = tuple(
        f
        for f in dict.fromkeys(observation.outside_changes)
        if f in mine and f not in d.state.outside_changed
    )
    if not fresh:
        return
    d.update(outside_changed=(*d.state.outside_changed, *fresh))
    d.event("outside_change", flags=list(fresh))
    text = f"{', '.join(fresh)} changed outside the run; it will not be overwritten."
    if d.state.status in _MOVING:
        pause(d, "a flag of the run was changed outside it", flags=list(fresh))
    else:
        d.notice(
            NoticeKind.NEEDS_PERSON, "Flag changed outside the run", text, leads(d.plan)
        )


def watch_phases(d: Draft, observation: Observation) -> None:
    """Earlier phases' last-stage criteria: a failure acts on that phase's flags."""
    if d.state.go_live is not None:
        # `watched_until: go_live`: the watches ended at go live.
        return
    for watch in observation.watches:
        part = d.plan.phases[watch.phase] if watch.phase < len(d.plan.phases) else None
        if watch.phase < d.state.phase and isinstance(part, RolloutPhase):
            check_harm(d, watch.phase, watch.evaluation)


def window_end(d: Draft) -> bool:
    """The phase's date window is over: pause and ask, once."""
    part = d.plan.phases[d.state.phase]
    closes = window_closes(part.window) if part.window else None
    if closes is None or d.now < closes or d.state.window_end_noted == d.state.phase:
        return False
    d.update(window_end_noted=d.state.phase)
    pause(d, f"the phase's window ended at {iso(closes)}")
    return True


def data_gap(d: Draft, evaluation: StageEvaluation | None) -> None:
    """Evidence missing or untrustworthy: stop the clock, pause after the grace."""
    if evaluation is not None and evaluation.health.srm:
        pause(d, f"sample ratio mismatch: {evaluation.health.reason}", srm=True)
        return
    reason = "no evaluation of the stage"
    since = d.now
    if evaluation is not None:
        reason = evaluation.health.reason or reason
        if evaluation.health.since is not None:
            since = minute_time(evaluation.health.since)
    clock = d.state.clock
    if clock.running_since is not None:
        stopped = clock.stopped(min(d.now, since))
        clock = type(clock)(stopped.counted, None, reason, min(since, d.now))
        d.update(clock=clock)
        d.event("data_gap", reason=reason, since=iso(clock.gap_since))
    began = clock.gap_since or since
    if d.now - began >= DATA_GRACE:
        pause(d, f"data missing for {DATA_GRACE}: {reason}", data_gap=True)


def run_stage(d: Draft, evaluation: StageEvaluation | None) -> None:
    """A running stage at one tick: count its clock, and leave it when it may."""
    if window_end(d):
        return
    if evaluation is None or not evaluation.health.ok:
        data_gap(d, evaluation)
        return
    if d.state.clock.running_since is None:
        d.update(clock=d.state.clock.started(d.now))
        d.event("data_resumed")
    way = stage_may_exit(d, evaluation)
    if way is not None:
        exit_stage(d, evaluation, undecided=way == "undecided")
