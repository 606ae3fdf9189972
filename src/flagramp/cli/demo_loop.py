"""The demo's loop in virtual time: traffic in, a controller tick, people act.

Each turn simulates the next span of minutes under the flags as the store holds
them now, writes the span's windows (one idempotent batch per span), moves the
virtual clock to the span's end, ticks the controller, and lets the plan's
people (`demo_people`) do what the run waits for. Spans are short while a stage
is young (decisions come quickly) and longer in long holds, so that a week of
simulated traffic costs seconds. After go live nothing is decided within a day,
so spans are whole UTC days (day windows, as the controller's compaction of
the go-live scope keeps them) until both checkpoints are recorded and the
people have answered them; the environment-level counts (contact-center
calls) go into the go-live scope beside the flags' windows.

The engine is reached through `RunEngine` (the run service and the controller
of `engine`), so this loop knows nothing of how runs are stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from flagramp.cli.demo_people import DemoPeople
from flagramp.cli.sim_windows import SimulatedSpan, SimulatedWindows, flag_states
from flagramp.core.clock import VirtualClock
from flagramp.core.plans import Plan, RolloutPhase
from flagramp.core.types import Json
from flagramp.engine import CompiledStage, compile_plan, metric_specs
from flagramp.engine.commands import Command, CommandRefused
from flagramp.engine.evaluation import StageEvaluation
from flagramp.engine.go_live_schedule import go_live_scope, next_checkpoint, run_flags
from flagramp.engine.go_live_windows import actorless_metrics, environment_window
from flagramp.engine.machine import RunContext, watched_phases
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.scopes import current_scope, watch_scope
from flagramp.sim import Regression, RegressionKind, World, epoch_minute
from flagramp.stats.windows import Window
from flagramp.store import FlagReader
from flagramp.store.windows import WindowStore

__all__ = [
    "DemoSettings",
    "DemoUpdate",
    "Injection",
    "LoggedEvent",
    "RunEngine",
    "StageRow",
    "drive",
    "traffic_scopes",
]

#: The demo's virtual start: a Monday, 08:00 UTC (traffic follows a daily curve).
DEMO_START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
#: People act at most this many rounds per tick (a vote may open a question).
_PEOPLE_ROUNDS = 4
#: Statuses where the run is over for the demo.
_DONE = frozenset({RunStatus.COMPLETED, RunStatus.ABORTED})
#: Minutes in a day: after go live the demo simulates whole UTC days per span.
_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One entry of the run's log, as the engine numbers and dates it."""

    seq: int
    at: dt.datetime
    kind: str
    actor: str | None
    data: Mapping[str, Json]


class RunEngine(Protocol):
    """What the demo needs of the engine: start a run, tick, read, command."""

    def start(self, plan_text: str, file: str, person: str) -> str:
        """Start a run of the plan; returns the run id."""
        ...

    def tick(self) -> None:
        """One controller tick at the clock's time."""
        ...

    def state(self, run: str) -> RunState: ...

    def command(self, run: str, cmd: Command) -> None:
        """Apply a person's command; raises CommandRefused."""
        ...

    def events(self, run: str, since: int) -> Sequence[LoggedEvent]:
        """The run's log after seq `since`."""
        ...

    def incidents(self, run: str) -> Sequence[Mapping[str, Json]]: ...

    def evaluation(self, phase: int, stage: int) -> StageEvaluation | None:
        """The controller's last evaluation of that stage, if any."""
        ...


@dataclass(frozen=True, slots=True)
class Injection:
    """A regression injected when the run enters a stage, fixed later.

    `kind` is `errors` (the treatment's failures rise by `amount`, a
    probability per request) or `abandonment` (the abandonment event's
    probability rises by `amount`). Phase and stage are 0-based indexes.
    """

    kind: str = "errors"
    phase: int = 2
    stage: int = 1
    amount: float = 0.09
    fix_after: dt.timedelta = dt.timedelta(hours=2)
    target: str | None = None
    """The request kind whose failures rise (errors; None: the first kind the
    phase's first flag gates), or the business kind (abandonment; None:
    `scheduling_abandoned`)."""

    def regression(self, plan: Plan, world: World, minute: int) -> Regression:
        """The regression, starting at epoch `minute`, on the phase's first flag."""
        phase = plan.phases[self.phase]
        assert isinstance(phase, RolloutPhase)
        flag = phase.flags[0]
        if self.kind == "abandonment":
            return Regression(
                RegressionKind.PROBABILITY,
                self.amount,
                start_minute=minute,
                flag=flag,
                target=self.target or "scheduling_abandoned",
            )
        gated = [k for k in world.model.request_kinds if k.flag == flag]
        return Regression(
            RegressionKind.RATE,
            self.amount,
            start_minute=minute,
            flag=flag,
            target=self.target or (gated[0].name if gated else None),
        )


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """How the demo runs: the seed, span lengths, what is injected."""

    seed: int = 1
    injection: Injection | None = field(default_factory=Injection)
    short_span: int = 20
    """Minutes per span while a stage is in its first two hours."""
    long_span: int = 240
    """Minutes per span later in a stage (measured: 60 makes the full-size
    VAOS run take about 95 s with a scripted engine; 240 keeps the evidence
    fresh enough for day-long holds)."""
    live_days: int = 7
    """Virtual days per span after go live (measured: spans of one day make
    the go-live month cost about as much as the whole rollout)."""
    max_days: int = 70
    """Virtual days after which the demo gives up (the plan is stuck); the
    VAOS run completes after about 41 (its 1-month checkpoint)."""
    person: str = ""
    """Who starts the run (default: the plan owner's first person)."""


@dataclass
class StageRow:
    """One stage attempt as the summary shows it."""

    phase: int
    stage: int
    percentage: float
    entered: dt.datetime
    left: dt.datetime | None = None
    evaluation: StageEvaluation | None = None
    decision: str = "running"


@dataclass(frozen=True, slots=True)
class DemoUpdate:
    """What the display shows after each turn."""

    now: dt.datetime
    state: RunState
    waiting_for: str
    evaluation: StageEvaluation | None
    stage: CompiledStage | None
    events: tuple[LoggedEvent, ...]
    commands: tuple[Command, ...]
    injected: Regression | None


@dataclass
class _Progress:
    rows: list[StageRow] = field(default_factory=list)
    seq: int = 0
    injected: Regression | None = None
    fixed_at: dt.datetime | None = None


def drive(
    engine: RunEngine,
    store: FlagReader,
    windows: WindowStore,
    clock: VirtualClock,
    plan: Plan,
    plan_text: str,
    plan_file: str,
    world: World,
    settings: DemoSettings,
    on_update: Callable[[DemoUpdate], None] = lambda _: None,
) -> tuple[str, list[StageRow]]:
    """Run the plan to its end in virtual time; returns the run id and stages."""
    people = DemoPeople(plan)
    person = settings.person or people.person(plan.owner)
    run = engine.start(plan_text, plan_file, person)
    stages = compile_plan(plan)
    compiled = {(s.phase_index, s.stage_index): s for s in stages}
    context = RunContext(run, plan, stages, plan.environment)
    traffic = SimulatedWindows(settings.seed, world, run, metric_specs(plan.metrics))
    progress = _Progress()
    flags = tuple(plan.flags)
    end = clock.now() + dt.timedelta(days=settings.max_days)
    sent, state = _act(engine, run, people, engine.state(run), progress, clock.now())
    while clock.now() < end:
        if state.status in _DONE:
            break
        start = epoch_minute(clock.now())
        due = next_checkpoint(run, plan, state)
        span = _span_minutes(
            state, clock.now(), settings, None if due is None else due.end_minute
        )
        current = flag_states(
            [store.require_flag(k, plan.environment) for k in flags],
            store.segments(plan.environment),
        )
        scopes = traffic_scopes(context, state)
        # Incidents quote the evaluated phase's failures: those are realised
        # exactly; watched and live flags keep the aggregate's fingerprints.
        simulated = traffic.span(
            start,
            start + span,
            current,
            report=list(scopes),
            scopes=scopes,
            realised=() if state.is_live else _phase_flags(plan, state.phase),
        )
        by_scope: dict[str, list[Window]] = {}
        for w in simulated.windows:
            by_scope.setdefault(w.key.run, []).append(w)
        if state.is_live:
            by_scope.setdefault(go_live_scope(run), []).append(
                _environment(plan, go_live_scope(run), simulated)
            )
        for scope, written in by_scope.items():
            windows.add_batch(scope, f"demo-{start}-{start + span}", written)
        clock.advance(dt.timedelta(minutes=span))
        engine.tick()
        state = engine.state(run)
        _maybe_inject(plan, traffic, settings, state, progress, clock.now())
        sent, state = _act(engine, run, people, state, progress, clock.now())
        events = tuple(engine.events(run, progress.seq))
        if events:
            progress.seq = events[-1].seq
        stage = compiled.get((state.phase, state.stage or 0))
        evaluation = _evaluation(engine, state)
        _record(progress.rows, plan, state, evaluation, clock.now(), engine)
        on_update(
            DemoUpdate(
                clock.now(),
                state,
                state.waiting_for(),
                evaluation,
                stage,
                events,
                tuple(sent),
                progress.injected,
            )
        )
    return run, progress.rows


def _span_minutes(
    state: RunState, now: dt.datetime, s: DemoSettings, due: int | None
) -> int:
    minute = epoch_minute(now)
    if state.is_live:
        return _live_span(minute, due, s)
    young = now - state.since < dt.timedelta(hours=2)
    span = (
        s.short_span
        if young or state.status is not RunStatus.STAGE_RUNNING
        else (s.long_span)
    )
    # Long spans end on the hour, so that windows stay aligned to hours.
    if span >= 60 and (minute + span) % 60:
        span -= (minute + span) % 60
    return span


def _live_span(minute: int, due: int | None, s: DemoSettings) -> int:
    """Minutes of a span after go live: to the `live_days`-th UTC midnight
    ahead, or to the next checkpoint's end (epoch minute `due`) if that comes
    first, so that each checkpoint's windows end where it does (spans of a
    day or more are never compacted: they stay whole)."""
    end = minute - minute % _DAY + s.live_days * _DAY
    if due is not None and due > minute:
        end = min(end, due)
    return end - minute


def traffic_scopes(context: RunContext, state: RunState) -> dict[str, str]:
    """Each flag whose traffic the engine reads now, and the ingest scope it
    reads it from (`engine.scopes`, as `RunService.push_events` routes events):
    the current phase's flags to its stage attempt (its `pre` scope before the
    first stage, its `off` scope after a rollback), earlier watched phases'
    flags to their watch scopes, and every flag to the go-live scope once live.
    """
    run = context.run
    if state.is_live:
        return dict.fromkeys(run_flags(context.plan), go_live_scope(run))
    out: dict[str, str] = {}
    for phase in watched_phases(context, state):
        out.update(
            dict.fromkeys(_phase_flags(context.plan, phase), watch_scope(run, phase))
        )
    out.update(
        dict.fromkeys(
            _phase_flags(context.plan, state.phase), current_scope(run, state)
        )
    )
    return out


def _environment(plan: Plan, scope: str, simulated: SimulatedSpan) -> Window:
    """The span's environment-level counts (events without an actor) as the
    go-live scope keeps them, one count per actorless metric of the plan."""
    counts = {
        name: float(
            sum(
                simulated.environment.get(e, 0)
                for e in plan.metrics[name].event_names()
            )
        )
        for name in actorless_metrics(plan)
    }
    return environment_window(scope, simulated.start, simulated.end, counts)


def _phase_flags(plan: Plan, phase: int) -> tuple[str, ...]:
    part = plan.phases[phase] if 0 <= phase < len(plan.phases) else None
    return tuple(part.flags) if isinstance(part, RolloutPhase) else ()


def _maybe_inject(
    plan: Plan,
    traffic: SimulatedWindows,
    settings: DemoSettings,
    state: RunState,
    progress: _Progress,
    now: dt.datetime,
) -> None:
    inject = settings.injection
    if inject is None:
        return
    minute = epoch_minute(now)
    if progress.injected is None:
        entered = state.status is RunStatus.STAGE_RUNNING and (
            state.phase,
            state.stage,
        ) == (inject.phase, inject.stage)
        if entered:
            progress.injected = inject.regression(plan, traffic.world, minute)
            traffic.inject(progress.injected)
        return
    if progress.fixed_at is None and state.status in (
        RunStatus.ROLLED_BACK,
        RunStatus.PAUSED,
    ):
        progress.fixed_at = now + inject.fix_after
    if (
        progress.fixed_at is not None
        and now >= progress.fixed_at
        and progress.injected.end_minute is None
    ):
        progress.injected = progress.injected.fixed_at(minute)
        traffic.inject(progress.injected)


def _act(
    engine: RunEngine,
    run: str,
    people: DemoPeople,
    state: RunState,
    progress: _Progress,
    now: dt.datetime,
) -> tuple[list[Command], RunState]:
    """Let the people act until the run stops changing; the commands taken and
    the run's state after them."""
    taken: list[Command] = []
    for _ in range(_PEOPLE_ROUNDS):
        injected = progress.injected
        fixed = injected is None or injected.end_minute is not None
        before = len(taken)
        for cmd in people.commands(state, fixed=fixed):
            try:
                engine.command(run, cmd)
            except CommandRefused:
                continue
            taken.append(cmd)
        if len(taken) == before:
            break  # nothing accepted: the run is as it was
        state = engine.state(run)
    return taken, state


def _evaluation(engine: RunEngine, state: RunState) -> StageEvaluation | None:
    """The controller's evaluation of the stage the run is at, for the display."""
    where = state.evaluated_stage
    if where is None or state.status in _DONE:
        return None
    return engine.evaluation(*where)


def _record(
    rows: list[StageRow],
    plan: Plan,
    state: RunState,
    evaluation: StageEvaluation | None,
    now: dt.datetime,
    engine: RunEngine,
) -> None:
    """Open a row when a stage attempt starts; close it when the run leaves it
    (with the controller's last evaluation of it: the one it decided on)."""
    row = rows[-1] if rows and rows[-1].left is None else None
    here = (state.phase, state.stage)
    running = state.status is RunStatus.STAGE_RUNNING and state.stage is not None
    if row is not None:
        stopped = state.status in (RunStatus.ROLLED_BACK, RunStatus.PAUSED)
        if stopped or state.status in _DONE or (row.phase, row.stage) != here:
            row.left = now
            row.evaluation = engine.evaluation(row.phase, row.stage) or row.evaluation
            row.decision = state.status.value.replace("_", " ") if stopped else "passed"
            row = None
    if running and row is None:
        phase = plan.phases[state.phase]
        assert isinstance(phase, RolloutPhase) and state.stage is not None
        percentage = float(phase.stages[state.stage].percentage)
        row = StageRow(state.phase, state.stage, percentage, state.since)
        rows.append(row)
    if row is not None and running and evaluation is not None:
        row.evaluation = evaluation
