"""The controller: every tick, each active run observed, decided and written.

A tick reads each run that is not final, compiles its plan (cached by hash),
builds the observation (`engine.observe`), asks the pure machine what the time
and the evidence make of the run, and, when the step changes anything, writes it
with `runner.apply` (one unit of work). After the runs it dispatches the outbox.

Crash safety comes from the order: the decision is recomputed from the stored
state on every tick, and a step is written all at once or not at all; a
controller killed at any instant resumes from the last committed transition,
with no step repeated (its version check) or skipped (the machine decides again
from the same state). A store that is unavailable is retried with backoff; the
transition is then decided afresh, never half written.

Go live (`engine.go_live_windows`): at the step with `went_live` the
controller opens the go-live scope of every flag of the run; while the run is
live it compacts that scope's windows once an hour, and when
`machine.due_checkpoint` names a checkpoint it computes it from the scope
(`engine.checkpoint_inputs`) and passes it in `Observation.checkpoint`. When
the run completes its go-live scopes are compacted whole and closed.

Promotion runs (a plan with a promotion and no phases) are not the rollout
machine's: `engine.promotion_driver` does their next action (backup hook,
snapshot and copy, probes, restore) with the hooks the controller's process
registered (`engine.hook_loading`), and writes its result.

Metric sources (`sources`, an `engine.source_health.SourceHealth` over the
Prometheus and Datadog sources by plan source kind): each tick the evaluated
stage's source-backed metrics are read over the stage's span with a deadline
and judged on what they answer (`source_arms`); a source that fails, hangs,
answers garbage or is not configured is passed to the evaluation as
`source_failures`, a data gap that stops the stage's clock and says which
source since when. Without it (the default) no source is read; `flagramp
controller` and `serve --controller` pass `SourceHealth.from_env()`.

Housekeeping after the runs: the store's scheduled backups that are due, and
the event batch keys past their retention (`engine.batch_key_retention`,
`batch_key_retention`: 7 days by default), deleted in bounded chunks; a store
that is unavailable there is retried with the same backoff as a transition.

The controller never reads the wall clock: its `Clock` is given (real in
`flagramp controller`, virtual in tests and the demo).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from flagramp.core.clock import Clock
from flagramp.core.errors import BackupError, FlagrampError, StoreError
from flagramp.engine import evaluate as stage_evaluation
from flagramp.engine import machine
from flagramp.engine.batch_key_retention import DEFAULT_RETENTION, expire_batch_keys
from flagramp.engine.checkpoint_inputs import checkpoint_for
from flagramp.engine.evaluation import Observation
from flagramp.engine.go_live_schedule import go_live_scope
from flagramp.engine.go_live_windows import after_step, compact_scope, scope_flags
from flagramp.engine.lease import Lease, LeaseLost
from flagramp.engine.looks import StageLooks
from flagramp.engine.machine import RunContext
from flagramp.engine.notifications.dispatch import DispatchReport, dispatch
from flagramp.engine.observe import EvaluateStage, Observer, evaluated_scope
from flagramp.engine.plan_cache import PlanCache
from flagramp.engine.probes import HookRegistry
from flagramp.engine.promotion_driver import PromotionDriver
from flagramp.engine.promotion_state import PromotionState, load_run_state
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.runner import Applied, RunConflict, apply
from flagramp.engine.scopes import epoch_minute
from flagramp.engine.source_health import SourceHealth
from flagramp.engine.steps import Step
from flagramp.store import Author, SqlFlagStore, run_due_backups
from flagramp.store.event_batches import EventBatchKeys
from flagramp.store.runs import ObservedState, RunReader, RunRow, save_observed
from flagramp.store.windows import WindowStore

log = logging.getLogger(__name__)

#: Who the controller's transitions are by, in the audit log.
CONTROLLER = "flagramp-controller"
ACTIVE = tuple(s.value for s in RunStatus if not s.is_final)
#: Attempts at one run's transition when the store fails, and the first wait.
STORE_ATTEMPTS = 5
#: Decisions of one run in a tick that people's commands may overtake.
CONFLICT_ATTEMPTS = 3
STORE_BACKOFF_SECONDS = 0.5
#: Transitions one run may make in one tick before the rest waits for the next.
MAX_STEPS_PER_TICK = 20
#: Minutes between two compactions of a live run's go-live scope.
COMPACT_EVERY = 60

_T = TypeVar("_T")
Tick = Callable[[RunContext, RunState, dt.datetime, Observation], Step]
LoadState = Callable[[Mapping[str, object]], RunState]
Dispatch = Callable[[SqlFlagStore, Clock], DispatchReport | None]


@dataclass
class TickReport:
    """What one tick did."""

    at: dt.datetime
    runs: int = 0
    applied: dict[str, Applied] = field(default_factory=dict)
    """Each run's last transition written in this tick."""
    steps: dict[str, int] = field(default_factory=dict)
    """How many transitions each run made in this tick."""
    conflicts: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Runs whose transition could not be decided or written, and why."""
    dispatched: DispatchReport | None = None
    backups: list[str] = field(default_factory=list)
    """Ids of the scheduled backups made in this tick."""
    batch_keys_deleted: int = 0
    """Event batch keys past their retention deleted in this tick."""


class Controller:
    """Drives every active run of a store; one `tick` at a time."""

    def __init__(
        self,
        store: SqlFlagStore,
        windows: WindowStore,
        clock: Clock,
        *,
        name: str = CONTROLLER,
        tick: Tick | None = None,
        load_state: LoadState | None = None,
        evaluate: EvaluateStage | None = None,
        send: Dispatch | None = dispatch,
        sleep: Callable[[float], None] = time.sleep,
        hooks: HookRegistry | None = None,
        sources: SourceHealth | None = None,
        backup_dir: Path | None = None,
        batch_key_retention: dt.timedelta = DEFAULT_RETENTION,
    ) -> None:
        self.store, self.windows, self.clock = store, windows, clock
        self.name = name
        # Looked up now, not at import: tests replace the machine's functions.
        self._tick = tick or machine.tick
        self._load_state = load_state or load_run_state
        self._send, self._sleep = send, sleep
        self.promotions = PromotionDriver(store, hooks or HookRegistry())
        self.observer = Observer(
            store,
            windows,
            evaluate or stage_evaluation.evaluate_stage,
            sources=sources,
        )
        self.plans = PlanCache()
        self.backup_dir = backup_dir
        self.batch_keys = EventBatchKeys(store.engine)
        self.batch_key_retention = batch_key_retention
        self.reader = RunReader(store.engine)
        #: run -> (run version, store version looked up to): outside changes
        #: are looked for from there while the run does not move.
        self._watched: dict[str, tuple[int, int]] = {}
        #: run -> epoch minute of its go-live scope's last compaction.
        self._compacted: dict[str, int] = {}
        #: run -> its state with this tick's looks, for runs the tick did not
        #: move (`engine.looks`); saved together when the tick ends.
        self._observed: dict[str, ObservedState] = {}

    def tick(self) -> TickReport:
        """One pass over every active run, then the outbox."""
        now = self.clock.now()
        report = TickReport(now)
        active = self._active()
        for row in active:
            report.runs += 1
            self._run_until_settled(row.id, now, report)
        self.observer.forget_except([row.id for row in active])
        self._save_observed(now, report)
        report.backups = self._run_due_backups(now)
        report.batch_keys_deleted = self._expire_batch_keys(now)
        self._dispatch(report)
        return report

    def _dispatch(self, report: TickReport) -> None:
        """Send the outbox; a failure is logged and a later tick sends it."""
        if self._send is not None:
            try:
                report.dispatched = self._send(self.store, self.clock)
            except FlagrampError as exc:
                log.warning("dispatch failed: %s", exc)

    def _run_due_backups(self, now: dt.datetime) -> list[str]:
        """The store's scheduled backups that are due (`flagramp backup
        schedule`): made here so that no cron job is needed beside a controller."""
        made = self._housekeeping(
            "scheduled backup failed",
            lambda: run_due_backups(
                self.store,
                now,
                author=Author(self.name, "scheduled backup"),
                directory=self.backup_dir,
            ),
        )
        return [ref.id for ref in made or ()]

    def _expire_batch_keys(self, now: dt.datetime) -> int:
        """Event batch keys past their retention, deleted in bounded chunks
        (`engine.batch_key_retention`): here so that no cron job is needed."""
        deleted = self._housekeeping(
            "old event batch keys were not deleted",
            lambda: expire_batch_keys(self.batch_keys, now, self.batch_key_retention),
        )
        return deleted or 0

    def _housekeeping(self, failed: str, action: Callable[[], _T]) -> _T | None:
        """`action`'s result, or None when it failed (logged; a later tick does
        it instead). A store that is unavailable is retried as a run's
        transition is (`_retrying`)."""
        try:
            return self._retrying(failed, action)
        except FlagrampError as exc:
            log.warning("%s: %s", failed, exc)
            return None

    def settle(self, run: str) -> TickReport:
        """Decide and write the run `run` only, until it has nothing more to do
        now, then the outbox: `flagramp promote` drives the run it started so
        (holding the lease, as a tick would)."""
        now = self.clock.now()
        report = TickReport(now, runs=1)
        self._run_until_settled(run, now, report)
        self._dispatch(report)
        return report

    def run(
        self,
        lease: Lease,
        *,
        interval: float = 60.0,
        stop: Callable[[], bool] = lambda: False,
        on_tick: Callable[[TickReport], None] | None = None,
    ) -> None:
        """Tick every `interval` seconds while holding `lease` (waiting for it
        first), until `stop()` says so."""
        lease.acquire(sleep=self._sleep)
        try:
            while not stop():
                if not lease.is_held():
                    log.warning("the controller lease was lost; waiting for it")
                    lease.acquire(sleep=self._sleep)
                report = self.tick()
                if on_tick is not None:
                    on_tick(report)
                self._sleep(interval)
        finally:
            lease.release()

    # --- one run ---------------------------------------------------------------

    def _active(self) -> list[RunRow]:
        found = self._retrying(
            "runs could not be read", lambda: self.reader.runs(statuses=ACTIVE)
        )
        return found or []

    def _retrying(self, failed: str, action: Callable[[], _T]) -> _T | None:
        """`action()`, retried with backoff while the store is unavailable; None
        (and a warning) once it has failed `STORE_ATTEMPTS` times. A backup that
        fails (its file, not the store) is raised, not retried."""
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return action()
            except BackupError:
                raise
            except StoreError as exc:
                if attempt == STORE_ATTEMPTS:
                    log.warning("%s: %s", failed, exc)
                    return None
                self._sleep(STORE_BACKOFF_SECONDS * 2 ** (attempt - 1))
        return None  # pragma: no cover

    def _run_until_settled(
        self, run: str, now: dt.datetime, report: TickReport
    ) -> None:
        # Rationale: a tick decides until the machine has nothing more to do at
        # `now` (a stage entered may be left at once, a gate answered...). Then a
        # tick repeated at the same time is a no-op, which is what makes a
        # controller killed after a commit and restarted at the same time end
        # exactly where one that was never killed ends.
        for _ in range(MAX_STEPS_PER_TICK):
            before = report.steps.get(run, 0)
            self._run_once(run, now, report)
            if report.steps.get(run, 0) == before:
                return
        log.warning("run %s still moving after %d steps", run, MAX_STEPS_PER_TICK)

    def _run_once(self, run: str, now: dt.datetime, report: TickReport) -> None:
        attempt = conflicts = 0
        while True:
            try:
                applied = self._decide_and_write(run, now)
            except _DecideNextTick:
                report.conflicts.append(run)
                return
            except RunConflict:
                # A person's command moved the run meanwhile: decide again at
                # once from what they wrote. Waiting for the next tick lost
                # this tick's looks, and with them a harm this minute showed.
                report.conflicts.append(run)
                conflicts += 1
                if conflicts == CONFLICT_ATTEMPTS:
                    return
                continue
            except StoreError as exc:
                attempt += 1
                if attempt == STORE_ATTEMPTS:
                    report.failed[run] = str(exc)
                    log.warning("run %s: %s", run, exc)
                    return
                self._sleep(STORE_BACKOFF_SECONDS * 2 ** (attempt - 1))
                continue
            except FlagrampError as exc:
                # A plan or state the engine cannot run: the run stays as it is
                # and says why in the report; other runs go on.
                report.failed[run] = str(exc)
                log.warning("run %s: %s", run, exc)
                return
            if applied is not None:
                report.applied[run] = applied
                report.steps[run] = report.steps.get(run, 0) + 1
            return

    def _decide_and_write(self, run: str, now: dt.datetime) -> Applied | None:
        row = self.reader.load(run)
        if row.status not in ACTIVE:
            return None
        context = self.plans.context(row)
        state = self._load_state(row.state)
        if isinstance(state, PromotionState):
            author = Author(self.name, f"run {run}: promotion")
            try:
                return self.promotions.advance(context, row.version, state, now, author)
            except RunConflict as exc:
                # Its hooks (a backup, a restore, the probes) ran for this
                # decision: they are not run again at once.
                raise _DecideNextTick(run) from exc
        cached = self._watched.get(run)
        watched_from = (
            cached[1]
            if cached is not None and cached[0] == row.version
            else row.watched_version
        )
        observation, seen = self.observer.observe(
            context, row, state, now, watched_from=watched_from
        )
        if state.go_live is not None:
            self._compact(context, now)
        due = machine.due_checkpoint(context, state, now)
        if due is not None:
            # Computed in the tick it falls due; after the step that records
            # it, `due_checkpoint` names the next one.
            result = checkpoint_for(self.windows, context, due)
            observation = dataclasses.replace(observation, checkpoint=result)
        step = self._tick(context, state, now, observation)
        looks = _looks(context, state, observation)
        if not step.changed:
            self._watched[run] = (row.version, seen)
            if looks is not None and looks != state.looks:
                # Nothing moved, but the next tick needs these decisions: kept
                # in the run's state, written for every run at the tick's end.
                kept = dataclasses.replace(state, looks=looks)
                self._observed[run] = ObservedState(
                    run, row.version, kept.to_json(), seen
                )
            return None
        if looks is not None:
            step = dataclasses.replace(
                step, state=dataclasses.replace(step.state, looks=looks)
            )
        author = Author(self.name, f"run {run}: {_kinds(step)}")
        applied = apply(
            self.store, context, row.version, step, now, author, watched_version=seen
        )
        self._watched[run] = (applied.version, seen)
        try:
            after_step(self.windows, context, step, epoch_minute(now))
        except StoreError as exc:
            # Ingest opens a scope on first use; compaction is retried while
            # live. What is lost is a completed run's last compaction.
            log.warning("run %s: its go-live scope: %s", run, exc)
        if step.state.status.is_final:
            self._compacted.pop(run, None)
        return applied

    def _save_observed(self, now: dt.datetime, report: TickReport) -> None:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            observed, self._observed = list(self._observed.values()), {}
            # Retried as a transition is: looks not saved make the next tick
            # decide from older ones. If the store stays away, the next tick
            # evaluates with the looks the state has (the same in this process
            # and in a restarted one) and saves its own.
            moved = self._retrying(
                "the tick's looks were not saved",
                functools.partial(save_observed, self.store.engine, observed),
            )
            if not moved:
                return
            report.conflicts.extend(moved)
            if attempt == CONFLICT_ATTEMPTS:
                # Nothing is left over for the next tick's save, which would
                # write these older looks.
                log.warning(
                    "run %s moved by commands %d times in a tick; its looks "
                    "are decided again next tick",
                    ", ".join(moved),
                    CONFLICT_ATTEMPTS,
                )
                return
            # A person's command moved these runs since they were decided:
            # decided again now from what it wrote, so this tick's looks (a
            # harm they showed) are kept rather than lost to the command.
            for run in moved:
                self._run_until_settled(run, now, report)

    # --- the go-live scope -----------------------------------------------------

    def _compact(self, context: RunContext, now: dt.datetime) -> None:
        minute = epoch_minute(now)
        last = self._compacted.get(context.run)
        if last is not None and minute - last < COMPACT_EVERY:
            return
        try:
            compact_scope(
                self.windows,
                go_live_scope(context.run),
                scope_flags(context.plan),
                minute,
            )
        except StoreError as exc:  # compacted on a later tick instead
            log.warning("run %s: compaction failed: %s", context.run, exc)
            return
        self._compacted[context.run] = minute


class _DecideNextTick(Exception):
    """A promotion a person's command overtook: decided again next tick."""


def _looks(
    context: RunContext, state: RunState, observation: Observation
) -> StageLooks | None:
    scope = evaluated_scope(context, state)
    if scope is None or observation.evaluation is None:
        return None
    looks = StageLooks.of(scope, observation.evaluation)
    # Only the minute moved: the stored looks stay, so that a run without new
    # evidence is not rewritten every tick (and its chart gets no new point).
    return state.looks if looks.same_evidence(state.looks) else looks


def _kinds(step: Step) -> str:
    kinds = list(dict.fromkeys(e.kind for e in step.events)) or ["transition"]
    return ", ".join(kinds)[:200]


__all__ = ["CONTROLLER", "Controller", "LeaseLost", "TickReport"]
