"""The run as a pure state machine: `start`, `tick` and `command` return a `Step`.

No I/O, no clock reads: `now` is passed in. The rules are `docs/plans.md`
("How a plan runs", computed by `core.plans.semantics`); the states and what
moves them are drawn in `docs/engine.md`. The pieces live in
`engine.transitions`; this module is the only way in.
"""

from __future__ import annotations

import datetime as dt

from flagramp.core.plans import WatchedUntil
from flagramp.engine.commands import Command
from flagramp.engine.evaluation import Observation
from flagramp.engine.go_live_schedule import DueCheckpoint
from flagramp.engine.go_live_schedule import due_checkpoint as _due_checkpoint
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_context import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.steps import Step
from flagramp.engine.transitions import golive
from flagramp.engine.transitions.draft import Draft
from flagramp.engine.transitions.flow import advance, prepare_phase
from flagramp.engine.transitions.handlers import handle
from flagramp.engine.transitions.harm import check_harm, verify
from flagramp.engine.transitions.watching import (
    outside_changes,
    run_stage,
    watch_phases,
)

__all__ = [
    "DueCheckpoint",
    "RunContext",
    "command",
    "due_checkpoint",
    "start",
    "tick",
    "watched_phases",
]


def start(context: RunContext, now: dt.datetime) -> Step:
    """The run's first step: its initial state and the `run_started` event."""
    plan = context.plan
    state = RunState(
        RunStatus.WAITING_PREREQUISITES, 0, None, now, observe=context.observe
    )
    d = Draft(context, state, now)
    d.event(
        "run_started",
        plan=plan.name,
        revision=plan.revision,
        environment=context.environment,
        observe=context.observe,
        phases=[p.name for p in plan.phases],
    )
    if plan.prerequisites:
        roles = tuple(dict.fromkeys(p.signed_by for p in plan.prerequisites))
        d.notice(
            NoticeKind.NEEDS_PERSON,
            f"{plan.title}: prerequisites to sign",
            "Each prerequisite is signed by a person holding its role.",
            roles,
        )
    else:
        prepare_phase(d, 0)
    return d.step()


def tick(
    context: RunContext, state: RunState, now: dt.datetime, observation: Observation
) -> Step:
    """What the time and the evidence make of the run.

    `observation.evaluation` is the evaluation of `state.evaluated_stage`;
    `observation.watches` those of `watched_phases(context, state)`;
    `observation.checkpoint` the result of `due_checkpoint(context, state, now)`.
    """
    if state.status.is_final:
        return Step(state)
    d = Draft(context, state, now)
    verify(d, observation)
    outside_changes(d, observation)
    watch_phases(d, observation)
    live = d.state.is_live
    evaluated = observation.evaluation
    if evaluated is not None and d.state.live_stage is not None and not live:
        check_harm(d, d.state.phase, evaluated)
    status = d.state.status
    if status is RunStatus.WAITING_WINDOW:
        advance(d)
    elif status is RunStatus.STAGE_RUNNING:
        run_stage(d, observation.evaluation)
    elif live:
        golive.watch(d, observation)
    if not d.events and not d.moves and not d.incidents:
        # Nothing happened: the state is returned as it was given.
        return Step(state)
    return d.step()


def command(
    context: RunContext, state: RunState, now: dt.datetime, cmd: Command
) -> Step:
    """What a person's command makes of the run; raises CommandRefused."""
    d = Draft(context, state, now)
    handle(d, cmd)
    return d.step()


def watched_phases(context: RunContext, state: RunState) -> tuple[int, ...]:
    """Earlier rollout phases whose last stage's criteria still watch their flags
    (`watched_until`: until go live, or the end of the run; or the phase's end)."""
    if state.status.is_final or state.go_live is not None:
        return ()
    return tuple(
        p
        for p, part in context.plan.rollout_phases()
        if p < state.phase and part.watched_until is WatchedUntil.GO_LIVE
    )


def due_checkpoint(
    context: RunContext, state: RunState, now: dt.datetime
) -> DueCheckpoint | None:
    """The go-live checkpoint the controller computes for this tick, if any:
    its span [go live, go live + `after`) in epoch minutes, the ingest scope
    opened at go live, the flags whose windows to pass and whether it is the
    last (see docs/engine.md, "Go live and checkpoints")."""
    return _due_checkpoint(context.run, context.plan, state, now)
