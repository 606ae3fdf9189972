"""What the controller observes of a run at one tick: the `Observation`.

Inputs: the evaluated stage's windows (its attempt's ingest scope, with the
phase's `pre` scope as the baseline; `engine.scopes`), decided by
`evaluate_stage`; earlier phases' watch scopes (`machine.watched_phases`); the
windows since a rollback, for its verification (`engine.evidence`); and the
change feed, which shows flags of the run changed by someone else. A change is
the run's own when the run's log has an entry written in the same unit of work
(`run_events.store_version`): that holds whoever commanded it, a person or the
controller, and no author name can fake it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from flagramp.engine.baselines import baseline_arms, baseline_fingerprints
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluate import StageMemo, evaluate_stage
from flagramp.engine.evaluation import Observation, PhaseWatch, StageEvaluation
from flagramp.engine.evidence import treatment_exposures_since, treatment_share_since
from flagramp.engine.go_live_windows import ENVIRONMENT_FLAG, actorless_metrics
from flagramp.engine.machine import RunContext, watched_phases
from flagramp.engine.run_records import PENDING
from flagramp.engine.run_state import RunState
from flagramp.engine.scopes import (
    attempt_scope,
    current_scope,
    epoch_minute,
    pre_scope,
    watch_scope,
)
from flagramp.engine.source_baselines import SourceBaselines
from flagramp.engine.source_health import SourceHealth
from flagramp.stats.windows import Lane, Window
from flagramp.store import SqlFlagStore
from flagramp.store.connections import reading
from flagramp.store.port import CHANGES_LIMIT
from flagramp.store.reading import FLAG
from flagramp.store.runs import RunRow, own_store_versions
from flagramp.store.windows import DecodedWindows, WindowStore

EvaluateStage = Callable[..., StageEvaluation]
"""`engine.evaluate.evaluate_stage`'s shape (tests pass a stand-in)."""


def compiled_stage(context: RunContext, phase: int, stage: int) -> CompiledStage | None:
    """The compiled stage at (phase, stage) of the run's plan."""
    for candidate in context.stages:
        if candidate.phase_index == phase and candidate.stage_index == stage:
            return candidate
    return None


def last_stage(context: RunContext, phase: int) -> CompiledStage | None:
    """The phase's last compiled stage (what watches it once it is over)."""
    found = [s for s in context.stages if s.phase_index == phase]
    return max(found, key=lambda s: s.stage_index) if found else None


def evaluated_scope(context: RunContext, state: RunState) -> str | None:
    """The ingest scope of the stage attempt the controller evaluates, if any."""
    where, entered = state.evaluated_stage, state.stage_entered_at
    if where is None or entered is None:
        return None
    return attempt_scope(context.run, where[0], where[1], entered)


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
    sources: SourceHealth | None = None
    """The metric sources (Prometheus, Datadog) stages read: their readings
    are passed to `evaluate` as `source_arms`, their failures as
    `source_failures` (a data gap)."""
    source_baselines: SourceBaselines | None = None
    """Baselines of source-backed metrics (made from `sources` when None)."""
    decoded: DecodedWindows = field(default_factory=DecodedWindows)
    """Windows decoded at earlier ticks, by scope: rows that did not change are
    not decoded again (`store.windows.DecodedWindows`)."""
    _baselines: dict[tuple[str, int], tuple[Window, ...]] = field(default_factory=dict)
    #: (run, scope) -> what the last evaluation of that scope computed.
    _memos: dict[tuple[str, str], StageMemo] = field(default_factory=dict)
    #: The (scope, flag) windows and the scopes evaluated for the run being
    #: observed: what its caches keep after the tick.
    _read: set[tuple[str, str]] = field(default_factory=set)
    _evaluated: set[str] = field(default_factory=set)

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
        minute = epoch_minute(now)
        self._read, self._evaluated = set(), set()
        exposures, share, users = self.verification(context, state)
        observation = Observation(
            evaluation=self.evaluation(context, state, now),
            watches=tuple(self.watches(context, state, minute)),
            outside_changes=outside,
            treatment_exposures_after=exposures,
            treatment_share_seen=share,
            exposed_users_after=users,
        )
        # What the caches keep of the run: the scopes it read this tick.
        self.decoded.keep_only(f"{context.run}/", self._read)
        for key in [k for k in self._memos if k[0] == context.run]:
            if key[1] not in self._evaluated:
                del self._memos[key]
        return observation, seen

    def forget_except(self, runs: Collection[str]) -> None:
        """Drop what the caches keep of runs not in `runs` (ended, or gone)."""
        keep = set(runs)
        self.decoded.retain(lambda scope: _run_of(scope) in keep)
        for key in [k for k in self._memos if k[0] not in keep]:
            del self._memos[key]
        for cached in [k for k in self._baselines if k[0] not in keep]:
            del self._baselines[cached]
        if self.source_baselines is not None:
            self.source_baselines.forget_except(keep)

    def _memo(self, run: str, scope: str) -> StageMemo:
        self._evaluated.add(scope)
        return self._memos.setdefault((run, scope), StageMemo())

    def evaluation(
        self, context: RunContext, state: RunState, now: dt.datetime
    ) -> StageEvaluation | None:
        """The evaluated stage's evidence until `now`'s minute, from the stage
        attempt's scope, with baselines from the phase's `pre` scope."""
        scope = evaluated_scope(context, state)
        entered = state.stage_entered_at
        where = state.evaluated_stage
        if scope is None or entered is None or where is None:
            return None
        stage = compiled_stage(context, *where)
        if stage is None:
            return None
        started, minute = epoch_minute(entered), epoch_minute(now)
        before = self._baseline_windows(context, stage)
        # Decisions of the last tick of this same attempt: a harm, once shown,
        # stays shown (docs/evaluation.md). Kept in the run's state
        # (`engine.looks`), so a restarted controller goes on with them.
        previous = {} if state.looks is None else state.looks.previous(scope)
        extra: dict[str, object] = {}
        if any(getattr(c, "environment_level", False) for c in stage.checks):
            extra["environment_counts"] = self.environment_counts(
                context, scope, started, minute
            )
        baselines = baseline_arms(stage, before)
        if self.sources is not None:
            # One read per external metric per tick: its arms, and its
            # source's failure (a data gap) when it could not be read.
            reads = self.sources.read(context, stage, now, entered)
            failures, problems = dict(reads.failures), dict(reads.problems)
            # Source-backed baselines, read once per span (kept in memory,
            # re-read the same after a restart: `engine.source_baselines`).
            if self.source_baselines is None:
                self.source_baselines = SourceBaselines(self.sources)
            read = self.source_baselines.read(
                context, stage, state, now, failing=reads.failures
            )
            baselines.update(read.arms)
            for kind, since in read.failures.items():
                if kind not in failures:  # the stage's own failure says more
                    failures[kind] = since
                    problems[kind] = read.problems[kind]
            extra["source_failures"] = failures
            if reads.arms:
                extra["source_arms"] = reads.arms
            if problems:
                extra["source_problems"] = problems
        evaluation = self.evaluate(
            stage,
            self.stage_windows(scope, stage, started, minute),
            minute=minute,
            started=started,
            observe=context.observe,
            baselines=baselines,
            baseline_fingerprints=baseline_fingerprints(before),
            previous=previous,
            memo=self._memo(context.run, scope),
            **extra,
        )
        return evaluation

    def environment_counts(
        self, context: RunContext, scope: str, started: int, minute: int
    ) -> dict[str, int]:
        """Each actorless metric's events in the stage attempt's scope (the
        windows of `ENVIRONMENT_FLAG` overlapping [started, minute]): events
        without an actor, which no lane holds (seed 000's contact-center
        calls)."""
        names = actorless_metrics(context.plan)
        totals = dict.fromkeys(names, 0.0)
        for w in self._windows(scope, ENVIRONMENT_FLAG, None, None):
            if w.key.end > started and w.key.start <= minute:
                for name in names:
                    aggregate = w.metrics.get(name)
                    if aggregate is not None:
                        totals[name] += aggregate.sums.total_numerator
        return {name: round(n) for name, n in totals.items()}

    def watches(
        self, context: RunContext, state: RunState, minute: int
    ) -> Iterator[PhaseWatch]:
        """Earlier phases still watched by their last stage's criteria."""
        for phase in watched_phases(context, state):
            stage = last_stage(context, phase)
            if stage is None or not stage.flags:
                continue
            scope = watch_scope(context.run, phase)
            windows = self.stage_windows(scope, stage, None, minute)
            first = windows.get(stage.flags[0].flag, ())
            if not first:
                continue
            started = min(w.key.start for w in first)
            yield PhaseWatch(
                phase,
                self.evaluate(
                    stage,
                    windows,
                    minute=minute,
                    started=started,
                    observe=context.observe,
                    memo=self._memo(context.run, scope),
                ),
            )

    def verification(
        self, context: RunContext, state: RunState
    ) -> tuple[int | None, float | None, int | None]:
        """After a rollback: treatment exposures, the treatment share and the
        users behind it since the verification began (None: none pending)."""
        info = state.rollback
        if info is None or info.verification != PENDING:
            return None, None, None
        stage = last_stage(context, info.phase)
        if stage is None or not stage.flags:
            return None, None, None
        since = epoch_minute(info.verification_from)
        windows = self._windows(
            current_scope(context.run, state), stage.flags[0].flag, since, None
        )
        # Randomised users first exposed in the scope since then (on and off).
        users = round(
            sum(
                w.exposed.total_numerator
                for w in windows
                if w.key.lane in (Lane.ON, Lane.OFF) and w.key.start >= since
            )
        )
        return (
            treatment_exposures_since(windows, since),
            treatment_share_since(windows, since),
            users or None,
        )

    def stage_windows(
        self, scope: str, stage: CompiledStage, started: int | None, minute: int
    ) -> Mapping[str, Sequence[Window]]:
        """Each flag's windows of `scope` within [started, minute)."""
        return {
            setting.flag: self._windows(scope, setting.flag, started, minute)
            for setting in stage.flags
        }

    def _windows(
        self, scope: str, flag: str, start: int | None, end: int | None
    ) -> tuple[Window, ...]:
        self._read.add((scope, flag))
        return self.windows.windows(
            scope, flag, start=start, end=end, decoded=self.decoded
        )

    def _baseline_windows(
        self, context: RunContext, stage: CompiledStage
    ) -> tuple[Window, ...]:
        if not stage.flags:
            return ()
        key = (context.run, stage.phase_index)
        cached = self._baselines.get(key)
        if cached is None:
            # The pre-phase scope stops growing once the phase's first stage
            # starts: read it once per run and phase.
            cached = self.windows.windows(
                pre_scope(context.run, stage.phase_index), stage.flags[0].flag
            )
            self._baselines[key] = cached
        return cached

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


def _run_of(scope: str) -> str:
    """The run a scope string belongs to (`<run>/p0/s1/m...`)."""
    return scope.split("/", 1)[0]
