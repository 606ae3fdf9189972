"""Helpers for the machine's tests: example plans, hand-made evaluations, a driver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from flagramp.core.plans import Answer, Plan, load_plan
from flagramp.core.severity import Severity
from flagramp.engine import machine
from flagramp.engine.commands import AnswerQuestion, Command, SignPrerequisite, Vote
from flagramp.engine.compile import compile_plan
from flagramp.engine.compiled import CompiledCheck, CompiledNovelty, CompiledRatio
from flagramp.engine.evaluation import (
    CheckResult,
    DataHealth,
    Observation,
    StageEvaluation,
)
from flagramp.engine.machine import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.steps import FlagMove, Step
from flagramp.engine.transitions.gates import unanswered
from flagramp.stats import GuardDecision, GuardOutcome
from flagramp.stats.decision import Evidence

EXAMPLES = Path(__file__).parents[2] / "examples"
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
_PLANS: dict[str, Plan] = {}


def example(name: str) -> Plan:
    """An example plan, loaded once."""
    if name not in _PLANS:
        path = EXAMPLES / f"{name}.yaml"
        _PLANS[name] = load_plan(path.read_text(), path.name).plan
    return _PLANS[name]


def context_of(plan: Plan, *, observe: bool = False) -> RunContext:
    return RunContext("R1", plan, compile_plan(plan), plan.environment, observe)


def _severity(check: CompiledCheck) -> Severity:
    if isinstance(check, CompiledRatio):
        return check.guard.severity
    if isinstance(check, CompiledNovelty):
        return check.severity
    return check.limit.severity


def decision(name: str, outcome: GuardOutcome, severity: Severity) -> GuardDecision:
    evidence = Evidence("test", 0.01, 0.0, 0.02, 1000.0, 0.05)
    return GuardDecision(name, outcome, severity, evidence)


def evaluation(
    context: RunContext,
    state: RunState,
    now: dt.datetime,
    *,
    outcome: GuardOutcome = GuardOutcome.HEALTHY,
    harmful: tuple[str, ...] = (),
    users: int = 100_000,
    health: DataHealth | None = None,
    stage: tuple[int, int] | None = None,
) -> StageEvaluation:
    """An evaluation of the evaluated stage: every check `outcome`, those named
    in `harmful` harmful."""
    where = stage or state.evaluated_stage
    assert where is not None
    compiled = context.compiled(*where)
    checks = tuple(
        CheckResult(
            c.criterion,
            getattr(c, "metric", None),
            c.mode,
            c.acts and not context.observe,
            decision(
                c.criterion,
                GuardOutcome.HARMFUL if c.criterion in harmful else outcome,
                _severity(c),
            ),
        )
        for c in compiled.checks
    )
    return StageEvaluation(
        minute=int(now.timestamp() // 60),
        checks=checks,
        treatment_users=users,
        control_users=users,
        allow_listed_users=2,
        requests=users * 3,
        srm_p=0.5,
        health=health or DataHealth(),
    )


Evaluator = Callable[[RunContext, RunState, dt.datetime], Observation]


def healthy(context: RunContext, state: RunState, now: dt.datetime) -> Observation:
    if state.evaluated_stage is None:
        return Observation(None, treatment_exposures_after=0)
    return Observation(
        evaluation(context, state, now),
        treatment_exposures_after=0,
        treatment_share_seen=None,
    )


def people(plan: Plan, role: str) -> tuple[str, ...]:
    return plan.roles[role].people


class Run:
    """A run driven in virtual time; keeps every step and the flags' percentages."""

    def __init__(self, context: RunContext, now: dt.datetime = T0) -> None:
        self.context = context
        self.now = now
        self.steps: list[Step] = []
        self.flags: dict[str, FlagMove] = {}
        self.apply(machine.start(context, now))

    @property
    def state(self) -> RunState:
        return self.steps[-1].state

    def status(self) -> RunStatus:
        # A call, so that mypy does not narrow it between steps.
        return self.steps[-1].state.status

    def apply(self, step: Step) -> Step:
        # Every new state must survive the store.
        if not self.steps or step.state is not self.steps[-1].state:
            assert RunState.from_json(step.state.to_json()) == step.state
        for move in step.flag_moves:
            self.flags[move.flag] = move
        self.steps.append(step)
        return step

    def tick(self, observation: Observation | None = None) -> Step:
        obs = observation or healthy(self.context, self.state, self.now)
        return self.apply(machine.tick(self.context, self.state, self.now, obs))

    def do(self, cmd: Command) -> Step:
        return self.apply(machine.command(self.context, self.state, self.now, cmd))

    def events(self) -> list[str]:
        return [e.kind for s in self.steps for e in s.events]

    def sign_all(self) -> None:
        plan = self.context.plan
        for i, item in enumerate(plan.prerequisites):
            self.do(SignPrerequisite(people(plan, item.signed_by)[0], i))

    def answer_all(self) -> None:
        plan, state = self.context.plan, self.state
        if state.stage is None:
            return
        for q in unanswered(plan, state, state.phase, state.stage):
            assert q.answered_by is not None
            self.do(AnswerQuestion(people(plan, q.answered_by)[0], q.text, "no"))

    def launch(self) -> None:
        """Answer the go/no-go being asked with Launch from every role."""
        gate = self.state.gate
        assert gate is not None
        self.answer_all()
        for role in gate.roles:
            for person in people(self.context.plan, role)[: gate.quorum]:
                if self.state.status is RunStatus.AWAITING_GO_NO_GO:
                    self.do(Vote(person, role, Answer.LAUNCH, "ok"))

    def advance(
        self,
        minutes: float,
        evaluator: Evaluator = healthy,
        *,
        every: float = 10,
        launch: bool = True,
        until: Callable[[RunState], bool] | None = None,
    ) -> None:
        """Tick every `every` minutes for `minutes`, launching gates if asked."""
        end = self.now + dt.timedelta(minutes=minutes)
        while self.now < end and not self.state.status.is_final:
            self.now += dt.timedelta(minutes=every)
            self.tick(evaluator(self.context, self.state, self.now))
            if launch and self.state.status is RunStatus.AWAITING_GO_NO_GO:
                self.launch()
            if until is not None and until(self.state):
                return


def vaos() -> RunContext:
    return context_of(example("vaos-service-integration"))


def reach(run: Run, phase: int, stage: int) -> None:
    """Drive a healthy run until it runs the stage."""
    if run.status() is RunStatus.WAITING_PREREQUISITES:
        run.sign_all()
    run.advance(
        60 * 24 * 60,
        until=lambda s: (
            (s.phase, s.stage, s.status) == (phase, stage, RunStatus.STAGE_RUNNING)
        ),
    )
    assert (run.state.phase, run.state.stage) == (phase, stage)


def harmful(*criteria: str, exposures: int = 0) -> Evaluator:
    """Evidence with the named criteria harmful."""

    def observe(context: RunContext, state: RunState, now: dt.datetime) -> Observation:
        if state.evaluated_stage is None:
            return Observation(None, treatment_exposures_after=exposures)
        found = evaluation(context, state, now, harmful=criteria)
        return Observation(found, treatment_exposures_after=exposures)

    return observe


def undecided(context: RunContext, state: RunState, now: dt.datetime) -> Observation:
    if state.evaluated_stage is None:
        return Observation(None)
    return Observation(
        evaluation(context, state, now, outcome=GuardOutcome.INCONCLUSIVE)
    )
