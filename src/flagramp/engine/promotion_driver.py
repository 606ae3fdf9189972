"""The controller's hands for promotion runs: each `promotion_machine.Action`
done against the store, the hooks and the network, and its result written.

A step's backup: its schedule (a one-off `store.backup_schedules` row) is
written with the transition that records it; when due, the application's
backup hook runs (if one is registered as `backup`), then the schedule's
snapshot of the target is taken with the transition that records its id.
The snapshot and the copy are written in the same unit of work as the
transition that records them, and so are the restore's changes: a controller
killed at any point leaves either both or neither. Hooks and probes run before
their result is written, so a controller killed in between runs them again on
restart (a hook must tolerate running twice: a second backup, a second restore
to the same snapshot).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from flagramp.core.types import Json
from flagramp.engine import promotion_machine as pm
from flagramp.engine.probes import HookRegistry, ProbeResult, run_probes
from flagramp.engine.promotion_runner import (
    BACKUP_HOOK,
    RESTORE_HOOK,
    snapshot_and_copy,
)
from flagramp.engine.promotion_state import PromotionState
from flagramp.engine.run_context import RunContext
from flagramp.engine.runner import Applied, RunConflict, apply, write_step
from flagramp.engine.steps import Step
from flagramp.store import Author, SqlFlagStore
from flagramp.store.backup_schedules import (
    put_backup_schedule,
    take_scheduled_snapshot,
)
from flagramp.store.environment_snapshots import write_back_snapshot
from flagramp.store.runs import RunVersionMoved

__all__ = ["PromotionDriver"]


@dataclass
class PromotionDriver:
    """Does a promotion run's next action and writes what came of it."""

    store: SqlFlagStore
    hooks: HookRegistry
    client: Callable[[], httpx.Client] = httpx.Client

    def advance(
        self,
        context: RunContext,
        version: int,
        state: PromotionState,
        now: dt.datetime,
        author: Author,
    ) -> Applied | None:
        """One transition of the run at `version`, or None if nothing is due."""
        action = pm.pending(context, state, now)
        if action is None:
            step = pm.tick(context, state, now)
            return self._apply(context, version, step, now, author)
        kind, target = action.kind, action.target
        if kind is pm.ActionKind.BACKUP:
            # The application's backup first (a hook is someone else's code,
            # run before any write); then the store's, with its transition.
            result = None
            if BACKUP_HOOK in self.hooks:
                result = self.hooks.run(BACKUP_HOOK, {"environment": target}, now)
            return self._write(context, version, state, now, author, action, result)
        if kind is pm.ActionKind.VERIFY:
            probes = self._probes(action, now)
            step = pm.record_verify(context, state, now, probes)
            return self._apply(context, version, step, now, author)
        if kind is pm.ActionKind.REVERIFY:
            hook = None
            if RESTORE_HOOK in self.hooks:
                hook = self.hooks.run(RESTORE_HOOK, {"environment": target}, now)
            probes = self._probes(action, now)
            step = pm.record_reverify(context, state, now, hook, probes)
            return self._apply(context, version, step, now, author)
        return self._write(context, version, state, now, author, action)

    def _probes(self, action: pm.Action, now: dt.datetime) -> tuple[ProbeResult, ...]:
        if not action.spec.verify:
            return ()
        with self.client() as client:
            return run_probes(action.spec.verify, self.hooks, client, lambda: now)

    def _apply(
        self,
        context: RunContext,
        version: int,
        step: Step,
        now: dt.datetime,
        author: Author,
    ) -> Applied | None:
        if not step.changed:
            return None
        return apply(self.store, context, version, step, now, author)

    def _write(
        self,
        context: RunContext,
        version: int,
        state: PromotionState,
        now: dt.datetime,
        author: Author,
        action: pm.Action,
        hook: ProbeResult | None = None,
    ) -> Applied:
        """The backup's schedule, the store's backup, the copy or the restore,
        with its transition, in one unit of work."""
        record = state.current
        assert record is not None
        try:
            with self.store.unit_of_work(author) as unit:
                if action.kind is pm.ActionKind.SCHEDULE:
                    name = pm.backup_schedule_name(context, action.step)
                    due = pm.backup_due(action.spec) or now
                    put_backup_schedule(
                        unit,
                        name,
                        label=f"run {context.run} step {action.step + 1}: "
                        f"before promoting {action.source} to {action.target}",
                        now=now,
                        once_at=due,
                        environment=action.target,
                    )
                    step = pm.record_backup_scheduled(context, state, now, name, due)
                elif action.kind is pm.ActionKind.BACKUP:
                    taken = record.store_backup
                    if taken is None:
                        assert record.backup_schedule is not None
                        taken = take_scheduled_snapshot(
                            unit, record.backup_schedule, now
                        )
                    step = pm.record_backup(context, state, now, hook, taken)
                elif action.kind is pm.ActionKind.COPY:
                    snapshot, writes = snapshot_and_copy(
                        unit, action.source, action.target, now
                    )
                    copied: dict[str, Json] = {
                        "created": [f.key for f in writes.created],
                        "changed": [f.key for f in writes.changed],
                        "segments": [s.name for s in writes.segments],
                    }
                    step = pm.record_copy(context, state, now, snapshot.id, copied)
                else:
                    assert record.snapshot is not None
                    restored = write_back_snapshot(unit, record.snapshot)
                    counts = {
                        "flags_changed": restored.flags_changed,
                        "segments_changed": restored.segments_changed,
                    }
                    step = pm.record_restore(context, state, now, dict(counts))
                return write_step(unit, context, version, step, now)
        except RunVersionMoved as exc:
            raise RunConflict(exc.run, exc.expected, exc.found) from exc
