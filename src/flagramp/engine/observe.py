"""What the controller observes of a run at one tick: the `Observation`.

Two inputs: the current stage's windows, decided by `evaluate_stage`, and the
change feed, which shows flags of the run changed by someone else. A change is
the run's own when the run's log has an entry written in the same unit of work
(`run_events.store_version`): that holds whoever commanded it, a person or the
controller, and no author name can fake it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluate import evaluate_stage
from flagramp.engine.evaluation import Observation, StageEvaluation
from flagramp.engine.machine import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.stats.windows import Window
from flagramp.store import SqlFlagStore
from flagramp.store.connections import reading
from flagramp.store.port import CHANGES_LIMIT
from flagramp.store.reading import FLAG
from flagramp.store.runs import RunRow, own_store_versions
from flagramp.store.windows import WindowStore

EvaluateStage = Callable[..., StageEvaluation]
"""`engine.evaluate.evaluate_stage`'s shape (tests pass a stand-in)."""


def epoch_minute(at: dt.datetime) -> int:
    """The epoch minute `at` falls in (windows are keyed by epoch minutes)."""
    return int(at.timestamp() // 60)


def evaluated_stage(state: RunState) -> tuple[int, int] | None:
    """(phase, stage) whose windows a tick evaluates, if any.

    The machine's state says it (`evaluated_stage`: the stage the phase's flags
    are at, also while paused); a state without it evaluates a running stage.
    """
    chosen = getattr(state, "evaluated_stage", None)
    if chosen is not None or hasattr(state, "evaluated_stage"):
        return chosen
    if state.status is RunStatus.STAGE_RUNNING and state.stage is not None:
        return state.phase, state.stage
    return None


def stage_started(state: RunState) -> dt.datetime:
    """When the evaluated stage's flags were set (its windows count from then)."""
    entered = getattr(state, "stage_entered_at", None)
    return entered if isinstance(entered, dt.datetime) else state.since


def compiled_stage(context: RunContext, phase: int, stage: int) -> CompiledStage | None:
    """The compiled stage at (phase, stage) of the run's plan."""
    for candidate in context.stages:
        if candidate.phase_index == phase and candidate.stage_index == stage:
            return candidate
    return None


def run_flags(context: RunContext, up_to_phase: int | None = None) -> set[str]:
    """The flags of the run's rollout phases (up to `up_to_phase`)."""
    return {
        flag
        for index, phase in context.plan.rollout_phases()
        if up_to_phase is None or index <= up_to_phase
        for flag in phase.flags
    }


@dataclass
class Observer:
    """Builds a run's observation from the store's windows and change feed."""

    store: SqlFlagStore
    windows: WindowStore
    evaluate: EvaluateStage = evaluate_stage

    def observe(
        self,
        context: RunContext,
        row: RunRow,
        state: RunState,
        now: dt.datetime,
        *,
        watched_from: int,
    ) -> tuple[Observation, int]:
        """The observation, and the store version it looked for changes up to
        (the next tick's `watched_from`)."""
        outside, seen = self.outside_changes(context, row, state, watched_from)
        return (
            Observation(
                evaluation=self.evaluation(context, state, now),
                outside_changes=outside,
                # TODO(evaluate, machine): earlier phases' watches
                # (`machine.watched_phases`) and rollback verification
                # (`evidence.treatment_exposures_since` / `treatment_share_since`
                # from `state.rollback.verification_from`) are wired once both
                # land on main; until then nothing is watched or verified here.
            ),
            seen,
        )

    def evaluation(
        self, context: RunContext, state: RunState, now: dt.datetime
    ) -> StageEvaluation | None:
        """The evaluated stage's evidence until `now`'s minute (whole windows)."""
        where = evaluated_stage(state)
        if where is None:
            return None
        stage = compiled_stage(context, *where)
        if stage is None:
            return None
        started = epoch_minute(stage_started(state))
        minute = epoch_minute(now)
        return self.evaluate(
            stage,
            self.stage_windows(context.run, stage, started, minute),
            minute=minute,
            started=started,
            observe=context.observe,
        )

    def stage_windows(
        self, run: str, stage: CompiledStage, started: int, minute: int
    ) -> Mapping[str, Sequence[Window]]:
        """Each flag's windows within [started, minute)."""
        return {
            setting.flag: self.windows.windows(
                run, setting.flag, start=started, end=minute
            )
            for setting in stage.flags
        }

    def outside_changes(
        self, context: RunContext, row: RunRow, state: RunState, watched_from: int
    ) -> tuple[tuple[str, ...], int]:
        """Flags of the run changed outside it after `watched_from`, and the
        store version looked up to."""
        seen = self.store.version()
        changes = self.store.changes_since(
            watched_from, environment=context.environment, limit=CHANGES_LIMIT
        )
        if len(changes) >= CHANGES_LIMIT:
            # More than one page: look at the rest on the next tick.
            seen = changes[-1].version - 1
            changes = [c for c in changes if c.version <= seen]
        flags = run_flags(context, state.phase)
        candidates = [c for c in changes if c.kind == FLAG and c.key in flags]
        if not candidates:
            return (), seen
        with reading(self.store.engine, "run events") as conn:
            own = own_store_versions(conn, row.id, after=watched_from)
        outside = sorted({c.key for c in candidates if c.version not in own})
        return tuple(outside), seen
