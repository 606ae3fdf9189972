"""What people do with runs, once for every shell (the CLI now, the server later).

`RunService` starts runs (the plan validated, compiled, the machine's first step
and the run's row written in one unit of work), takes people's commands (the
machine decides, the runner writes), adopts plan revisions, takes pushed events
into a run's windows, and reads runs back. The CLI and the server's runs
endpoints are thin layers over it.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from flagramp.core.clock import Clock
from flagramp.core.errors import EngineError
from flagramp.core.plans import Plan, diff, load_plan
from flagramp.core.types import Json
from flagramp.engine import machine, promotion_machine
from flagramp.engine.commands import (
    Command,
    CommandRefused,
    MeetMilestone,
    Revise,
    Vote,
)
from flagramp.engine.compile import compile_plan, metric_specs
from flagramp.engine.event_targets import EventRoute, event_targets
from flagramp.engine.go_live_windows import (
    actorless_metrics,
    after_step,
    environment_window,
)
from flagramp.engine.machine import RunContext
from flagramp.engine.milestones import (
    MilestoneRow,
    meet_milestone,
    met_milestones,
    milestone_rows,
)
from flagramp.engine.plan_cache import PlanCache
from flagramp.engine.promotion_machine import is_promotion
from flagramp.engine.promotion_state import PromotionState, load_run_state
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.runner import Applied, RunConflict, write_step
from flagramp.engine.scopes import current_scope, epoch_minute
from flagramp.engine.steps import Step
from flagramp.sources.pushed import PushedSource, PushResult
from flagramp.stats.batch_ingest import BatchIngest
from flagramp.store import Author, SqlFlagStore
from flagramp.store.runs import (
    IncidentRow,
    PlanVersion,
    RunEvent,
    RunReader,
    RunRow,
    RunVersionMoved,
    add_plan_version,
    create_run,
    next_run_id,
)
from flagramp.store.stored_ingest import StoredIngest
from flagramp.store.windows import WindowStore

#: Times a command is decided again when the controller moved the run meanwhile.
COMMAND_ATTEMPTS = 3
#: Statuses of runs that are not over.
ACTIVE = tuple(s.value for s in RunStatus if not s.is_final)


class EnvironmentCountRefused(EngineError):
    """Environment-level counts the run's plan has no actorless metric for."""

    code = "environment_count_refused"


Start = Callable[[RunContext, dt.datetime], Step]
Decide = Callable[[RunContext, RunState, dt.datetime, Command], Step]
LoadState = Callable[[Mapping[str, object]], RunState]


@dataclass(frozen=True, slots=True)
class RunView:
    """What `run show` tells: where the run is and what it waits for."""

    row: RunRow
    waiting_for: str | None
    phase: str | None
    stage: str | None
    last_evaluation: dict[str, Json] | None
    incidents: tuple[IncidentRow, ...] = field(default=())
    milestones: tuple[MilestoneRow, ...] = field(default=())
    """The plan's milestones: target, and actual once the run reached each."""

    def to_json(self) -> dict[str, Json]:
        """The view as `run show --json` prints it."""
        row = self.row
        return {
            "run": row.id,
            "plan": row.plan_name,
            "plan_version": row.plan_version,
            "plan_hash": row.plan_hash,
            "environment": row.environment,
            "status": row.status,
            "observe": row.observe,
            "version": row.version,
            "phase": self.phase,
            "stage": self.stage,
            "waiting_for": self.waiting_for,
            "last_evaluation": self.last_evaluation,
            "incidents": [i.record | {"incident": i.incident} for i in self.incidents],
            "milestones": [m.to_json() for m in self.milestones],
            "state": row.state,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }


def plan_hash(text: str) -> str:
    """The SHA-256 of a plan's exact text."""
    return hashlib.sha256(text.encode()).hexdigest()


class RunService:
    """Runs for people: start, command, revise, push events, read."""

    def __init__(
        self,
        store: SqlFlagStore,
        windows: WindowStore,
        clock: Clock,
        *,
        start: Start | None = None,
        decide: Decide | None = None,
        load_state: LoadState | None = None,
    ) -> None:
        self.store, self.windows, self.clock = store, windows, clock
        # Looked up now, not at import: tests replace the machine's functions.
        self._start = start or machine.start
        self._decide = decide or machine.command
        self._load_state = load_state or load_run_state
        self.reader = RunReader(store.engine)
        self.plans = PlanCache()

    # --- writes ------------------------------------------------------------------

    def start(
        self,
        text: str,
        *,
        person: str,
        file: str = "plan.yaml",
        environment: str | None = None,
        observe: bool = False,
    ) -> RunRow:
        """Start a run of the plan `text`; raises PlanInvalid for a plan that
        does not validate (nothing is written then)."""
        plan = load_plan(text, file).plan
        stages = compile_plan(plan)
        chosen = environment or plan.environment
        digest = plan_hash(text)
        now = self.clock.now()
        with self.store.unit_of_work(Author(person, f"plan start {file}")) as unit:
            run = next_run_id(unit.connection)
            context = RunContext(run, plan, stages, chosen, observe)
            begin = promotion_machine.start if is_promotion(context) else self._start
            step = begin(context, now)
            create_run(
                unit,
                run=run,
                plan_name=plan.name,
                environment=chosen,
                plan_text=text,
                plan_hash=digest,
                status=step.state.status.value,
                state=step.state.to_json(),
                observe=observe,
                at=now,
                created_by=person,
            )
            write_step(unit, context, 0, step, now)
        return self.reader.load(run)

    def command(self, run: str, cmd: Command) -> Applied:
        """Apply a person's command; raises CommandRefused (nothing written)
        when the machine refuses it."""
        return self._command(run, lambda _row, _plan: cmd, None)

    def revise(self, run: str, text: str, *, person: str, file: str) -> Applied:
        """Adopt a new version of the run's plan (the machine decides when it
        takes effect); the version and its diff are recorded with the step."""
        new = load_plan(text, file).plan
        compile_plan(new)  # a plan the engine cannot run is refused here
        digest = plan_hash(text)

        def revision(row: RunRow, old: Plan) -> Command:
            changes = diff(old, new)
            return Revise(
                person=person,
                plan_text=text,
                plan_hash=digest,
                diff="\n".join(str(c) for c in changes),
                loosens=tuple(str(c) for c in changes if c.flagged),
            )

        return self._command(run, revision, (text, digest))

    def push_events(
        self, run: str, raw_events: Sequence[object], *, batch_key: str | None = None
    ) -> dict[str, PushResult]:
        """Take pushed events into the run's windows: the current phase's flags
        into its current scope (`engine.scopes`), earlier watched phases' flags
        into their watch scopes; while the run is live, every flag of the run
        into the go-live scope its checkpoints read. A batch key seen before
        counts nothing there. Returns each scope and flag's result, keyed
        `scope flag`."""
        row = self.reader.load(run)
        context = self.plans.context(row)
        specs = metric_specs(context.plan.metrics)
        targets = event_targets(context, self._load_state(row.state))
        results: dict[str, PushResult] = {}
        for scope, flag in targets:
            pipe = BatchIngest(scope, flag, specs, environment=row.environment)
            source = PushedSource(StoredIngest(self.windows, pipe, self.clock))
            results[f"{scope} {flag}"] = source.push_raw(raw_events, key=batch_key)
        return results

    def push_environment_counts(
        self,
        run: str,
        counts: Mapping[str, float],
        *,
        start: dt.datetime,
        end: dt.datetime,
        batch_key: str,
    ) -> bool:
        """Take environment-level counts of [start, end) (events without an
        actor: contact-center calls, by actorless metric of the plan) into the
        run's current scope, where a stage's count criteria read them; while
        live, into its go-live scope, where checkpoints do. False when
        `batch_key` was taken before (it counts once). Raises EnvironmentCountRefused
        for a metric that is not one of the plan's actorless ones."""
        row = self.reader.load(run)
        context = self.plans.context(row)
        state = self._load_state(row.state)
        known = set(actorless_metrics(context.plan))
        unknown = sorted(set(counts) - known)
        if unknown:
            raise EnvironmentCountRefused(
                f"{', '.join(unknown)}: not a count of events without an actor in "
                f"the plan (those are: {', '.join(sorted(known)) or 'none'})"
            )
        if any(n < 0 for n in counts.values()) or end <= start:
            raise EnvironmentCountRefused("counts must be >= 0 over a non-empty span")
        scope = current_scope(run, state)
        window = environment_window(
            scope, epoch_minute(start), epoch_minute(end), counts
        )
        return self.windows.add_batch(scope, batch_key, [window])

    def event_routes(self, environment: str) -> builtins.list[EventRoute]:
        """Where pushed events of `environment` go now: every scope of every
        active run there (the server's event sink routes batches by this)."""
        routes: builtins.list[EventRoute] = []
        for row in self.reader.runs(statuses=ACTIVE):
            if row.environment != environment:
                continue
            context = self.plans.context(row)
            specs = tuple(metric_specs(context.plan.metrics))
            for scope, flag in event_targets(context, self._load_state(row.state)):
                routes.append(
                    EventRoute(row.id, scope, flag, environment, specs, row.plan_hash)
                )
        return routes

    def _command(
        self,
        run: str,
        make: Callable[[RunRow, Plan], Command],
        revision: tuple[str, str] | None,
    ) -> Applied:
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            row = self.reader.load(run)
            context = self.plans.context(row)
            cmd = make(row, context.plan)
            now = self.clock.now()
            state = self._load_state(row.state)
            try:
                if isinstance(cmd, MeetMilestone):
                    # Not a transition of either machine: an event of the run.
                    met = met_milestones(
                        (e.kind, e.actor, e.data) for e in self.reader.events(run)
                    )
                    step = meet_milestone(context, state, now, cmd, met)
                elif isinstance(state, PromotionState):
                    step = promotion_machine.command(context, state, now, cmd)
                else:
                    step = self._decide(context, state, now, cmd)
            except CommandRefused as refused:
                counted = (
                    _counted_at_last_gate(self.reader.events(run), cmd)
                    if isinstance(cmd, Vote) and refused.code in _PAST_THE_GATE
                    else None
                )
                if counted is None:
                    raise
                # Still refused: the same vote may be meant for a gate not yet
                # asked. But a client whose answer to the vote that closed the
                # gate was lost learns that it counted.
                raise CommandRefused(
                    f"{refused.reason}; this vote was counted at the last "
                    f"go/no-go (event {counted.seq}, "
                    f"{dt.datetime.fromisoformat(counted.at).isoformat()})",
                    code=refused.code,
                ) from None
            if step.repeated:
                return self._as_first(row, cmd)
            kind = type(cmd).__name__
            author = Author(cmd.person, f"run {run}: {kind}")
            try:
                with self.store.unit_of_work(author) as unit:
                    if revision is not None:
                        # Recorded first: the step may adopt it at once.
                        text, digest = revision
                        assert isinstance(cmd, Revise)
                        add_plan_version(
                            unit,
                            run,
                            text=text,
                            plan_hash=digest,
                            diff=cmd.diff,
                            adopted_by=cmd.person,
                            at=now,
                        )
                    applied = write_step(unit, context, row.version, step, now)
                after_step(self.windows, context, step, epoch_minute(now))
                return applied
            except RunVersionMoved as exc:
                # The controller moved the run while the command was decided:
                # decide again on what it wrote.
                if attempt == COMMAND_ATTEMPTS:
                    raise RunConflict(exc.run, exc.expected, exc.found) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _as_first(self, row: RunRow, cmd: Command) -> Applied:
        """The answer to a command that repeats one the run took
        (`Step.repeated`), written nothing: the run's version as it is and the
        event that recorded the first."""
        first = [e for e in self.reader.events(row.id) if _records(e, cmd)][-1:]
        return Applied(
            version=row.version,
            store_version=first[0].store_version if first else row.watched_version,
            seqs=tuple(e.seq for e in first),
            flags_changed=(),
        )

    # --- reads -------------------------------------------------------------------

    def show(self, run: str) -> RunView:
        """The run, what it waits for, its stage and its last evaluation."""
        row = self.reader.load(run)
        context = self.plans.context(row)
        state = self._load_state(row.state)
        phase_name = stage_name = None
        if 0 <= state.phase < len(context.plan.phases):
            phase = context.plan.phases[state.phase]
            phase_name = phase.name
            stages = getattr(phase, "stages", ())
            if state.stage is not None and 0 <= state.stage < len(stages):
                stage_name = stages[state.stage].name
        events = self.reader.events(run)
        met = met_milestones((e.kind, e.actor, e.data) for e in events)
        return RunView(
            row=row,
            waiting_for=state.waiting_for(),
            phase=phase_name,
            stage=stage_name,
            last_evaluation=_last_evaluation(events),
            incidents=tuple(self.reader.incidents(run)),
            milestones=milestone_rows(context.plan, met),
        )

    def row(self, run: str) -> RunRow:
        """The run's row alone (one indexed read): what the dashboard's guard
        stream polls for the looks the controller keeps in the run's state."""
        return self.reader.load(run)

    def list(self, statuses: Sequence[str] | None = None) -> list[RunRow]:
        """Every run, oldest first (only those in `statuses` when given)."""
        return self.reader.runs(statuses=statuses)

    def log(self, run: str, since: int = 0) -> builtins.list[RunEvent]:
        """The run's events after `since`."""
        return self.reader.events(run, since=since)

    def incidents(self, run: str) -> builtins.list[IncidentRow]:
        """The run's incidents."""
        return self.reader.incidents(run)

    def plan_versions(self, run: str) -> builtins.list[PlanVersion]:
        """Every version of the run's plan."""
        return self.reader.plan_versions(run)


def _last_evaluation(log: Sequence[RunEvent]) -> dict[str, Json] | None:
    """The newest evaluation a run event carries (`evaluation`, the evidence a
    go/no-go froze, or `checks`)."""
    for event in reversed(log):
        found = event.data.get("evaluation")
        if isinstance(found, dict):
            return found
        evidence = event.data.get("evidence")
        if isinstance(evidence, dict) and isinstance(evidence.get("evaluation"), dict):
            frozen = evidence["evaluation"]
            assert isinstance(frozen, dict)
            return frozen
        if isinstance(event.data.get("checks"), list):
            return event.data
    return None


#: Events that open a go/no-go (a rollout's gate, a promotion step's).
_GATE_OPENED = frozenset({"go_no_go_asked", "promotion_verified"})
#: Events that record a vote (a rollout's, a promotion step's).
_VOTED = frozenset({"voted", "promotion_vote"})
#: Refusals of a vote that came after its go/no-go closed (or the run ended).
_PAST_THE_GATE = frozenset({"not_waiting_for_that", "run_finished", "run_final"})


def _counted_at_last_gate(log: Sequence[RunEvent], cmd: Vote) -> RunEvent | None:
    """The event of the person's last vote for the role at the last go/no-go
    asked, if it is `cmd` (same answer and comment)."""
    for event in reversed(log):
        if event.kind in _GATE_OPENED:
            return None
        data = event.data
        if (
            event.kind in _VOTED
            and event.actor == cmd.person
            and data.get("role") == cmd.role
        ):
            return event if _records(event, cmd) else None
    return None


def _records(event: RunEvent, cmd: Command) -> bool:
    """Whether `event` is the one that recorded the vote `cmd`."""
    if not isinstance(cmd, Vote) or event.kind not in _VOTED:
        return False
    data = event.data
    return event.actor == cmd.person and (
        data.get("role"),
        data.get("answer"),
        data.get("comment"),
    ) == (cmd.role, cmd.answer.value, cmd.comment)
