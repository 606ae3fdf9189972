"""Where a run's pushed events go now: (ingest scope, flag) pairs.

The current phase's flags go to its current scope (`scopes.current_scope`),
and earlier phases whose last stage still watches them go to their watch
scopes; while the run is live, every flag of the run goes to the go-live scope
its checkpoints read. `RunService.push_events` (the CLI) and the server's event sink
(`RunService.event_routes`) both route by `event_targets`, so events pushed
either way land where the controller reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.engine.go_live_schedule import run_flags
from flagramp.engine.machine import RunContext, watched_phases
from flagramp.engine.run_state import RunState
from flagramp.engine.scopes import current_scope, watch_scope
from flagramp.stats.ingest_values import MetricSpec


@dataclass(frozen=True, slots=True)
class EventRoute:
    """One scope a run's events of one flag go to, with the plan's metrics."""

    run: str
    scope: str
    flag: str
    environment: str
    specs: tuple[MetricSpec, ...]
    plan_hash: str
    """The plan text's hash: a revision may change the metrics."""


def phase_flags(context: RunContext, phase: int) -> tuple[str, ...]:
    """The flags a phase of the run's plan names (none for a manual phase)."""
    if 0 <= phase < len(context.plan.phases):
        return tuple(getattr(context.plan.phases[phase], "flags", ()))
    return ()


def event_targets(context: RunContext, state: RunState) -> list[tuple[str, str]]:
    """Every (scope, flag) the run's events go to now."""
    run = context.run
    flags = (
        run_flags(context.plan) if state.is_live else phase_flags(context, state.phase)
    )
    targets = [(current_scope(run, state), flag) for flag in flags]
    for phase in watched_phases(context, state):
        targets += [(watch_scope(run, phase), f) for f in phase_flags(context, phase)]
    return targets
