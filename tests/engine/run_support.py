"""What the run tests share: example plans, a run context, a small stand-in
for the machine's `RunState`, and hand-made steps (the machine is built
elsewhere; these tests check the runner, the controller and the store alone)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from flagramp.core.plans import Answer, Plan, load_plan
from flagramp.core.types import Json
from flagramp.engine.commands import AnswerQuestion, Vote
from flagramp.engine.compile import compile_plan
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluation import CheckResult, DataHealth, StageEvaluation
from flagramp.engine.machine import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.runner import write_step
from flagramp.engine.service import RunService
from flagramp.engine.steps import FlagMove, RunEventDraft, Step
from flagramp.engine.transitions.gates import unanswered
from flagramp.stats import GuardOutcome
from flagramp.stats.windows import Window
from flagramp.store import Author, SqlFlagStore
from flagramp.store.run_tables import run_events
from flagramp.store.runs import create_run
from flagramp.store.tables import audit_log
from tests.engine.machine_kit import _severity, decision, people

EXAMPLES = Path(__file__).parents[2] / "examples"
UAE = "uae-appointments-dark-deploy.yaml"
UAE_FLAG = "va_online_scheduling_uae_oracle_health"
UAE_SEGMENT = "oracle_patients"
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
CONTROLLER = Author("flagramp-controller", "a run test")
ON_CALL = "uae-on-call@va.gov"
PO = "uae-product-owner@va.gov"


@dataclass(frozen=True, slots=True)
class FakeState(RunState):
    """RunState with the JSON the real one will have for these fields."""

    note: str = ""

    def to_json(self) -> dict[str, Json]:
        return {
            "status": self.status.value,
            "phase": self.phase,
            "stage": self.stage,
            "since": self.since.isoformat(),
            "note": self.note,
            "live_stage": self.live_stage,
            "stage_entered_at": None
            if self.stage_entered_at is None
            else self.stage_entered_at.isoformat(),
        }

    @classmethod
    def load(cls, document: Mapping[str, object]) -> RunState:
        """What `to_json` wrote (the real `RunState.from_json`'s stand-in)."""
        stage = document["stage"]
        phase = document["phase"]
        assert isinstance(phase, int)
        assert stage is None or isinstance(stage, int)
        live, entered = document["live_stage"], document["stage_entered_at"]
        assert live is None or isinstance(live, int)
        return cls(
            RunStatus(str(document["status"])),
            phase,
            stage,
            dt.datetime.fromisoformat(str(document["since"])),
            live_stage=live,
            stage_entered_at=None
            if entered is None
            else dt.datetime.fromisoformat(str(entered)),
            note=str(document["note"]),
        )


@cache
def plan_text(name: str = UAE) -> str:
    return (EXAMPLES / name).read_text()


@cache
def example_plan(name: str = UAE) -> Plan:
    return load_plan(plan_text(name), name).plan


def context(run: str = "R1", name: str = UAE, observe: bool = False) -> RunContext:
    plan = example_plan(name)
    return RunContext(
        run=run,
        plan=plan,
        stages=compile_plan(plan),
        environment=plan.environment,
        observe=observe,
    )


def state(
    status: RunStatus = RunStatus.STAGE_RUNNING,
    stage: int | None = 0,
    at: dt.datetime = T0,
    note: str = "",
) -> FakeState:
    live = stage if status is not RunStatus.WAITING_PREREQUISITES else None
    return FakeState(
        status,
        0,
        stage,
        at,
        live_stage=live,
        stage_entered_at=None if live is None else at,
        note=note,
    )


def move(
    percentage: float,
    flag: str = UAE_FLAG,
    reason: str = "stage_entered",
    allow_list: tuple[str, ...] = (),
    eligible: str | None = UAE_SEGMENT,
) -> FlagMove:
    return FlagMove(flag, percentage, None, eligible, allow_list, reason)


def stage_step(percentage: float, stage: int = 0, **extra: object) -> Step:
    """Enter a stage: one event, the phase's flag to its percentage."""
    return Step(
        state=state(stage=stage),
        events=(RunEventDraft("stage_entered", None, {"stage": stage}),),
        flag_moves=(move(percentage),),
        **extra,  # type: ignore[arg-type]
    )


def start_run(
    store: SqlFlagStore, ctx: RunContext | None = None, at: dt.datetime = T0
) -> RunContext:
    """Create the run's row and write its `run_started` step (version 1)."""
    chosen = ctx or context()
    text = plan_text()
    first = Step(
        state=state(RunStatus.WAITING_PREREQUISITES, None, at),
        events=(RunEventDraft("run_started", "alice@va.gov", {}),),
    )
    with store.unit_of_work(CONTROLLER) as unit:
        create_run(
            unit,
            run=chosen.run,
            plan_name=chosen.plan.name,
            environment=chosen.environment,
            plan_text=text,
            plan_hash=hashlib.sha256(text.encode()).hexdigest(),
            status=first.state.status.value,
            state=first.state.to_json(),
            observe=chosen.observe,
            at=at,
            created_by="alice@va.gov",
        )
        write_step(unit, chosen, 0, first, at)
    return chosen


def event_kinds(store: SqlFlagStore, run: str = "R1") -> list[str]:
    with store.engine.connect() as conn:
        query = (
            sa.select(run_events.c.kind)
            .where(run_events.c.run == run)
            .order_by(run_events.c.seq)
        )
        return list(conn.execute(query).scalars())


def flag_audit_actions(store: SqlFlagStore, flag: str = UAE_FLAG) -> list[str]:
    with store.engine.connect() as conn:
        query = (
            sa.select(audit_log.c.action)
            .where(audit_log.c.entity_kind == "flag", audit_log.c.entity_key == flag)
            .order_by(audit_log.c.id)
        )
        return list(conn.execute(query).scalars())


class Scripted:
    """A stage evaluator whose criteria's outcomes a test sets by label; every
    check healthy unless set, plenty of users (the evaluator is tested apart)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, GuardOutcome] = {}

    def __call__(
        self,
        stage: CompiledStage,
        windows: Mapping[str, Sequence[Window]],
        *,
        minute: int,
        started: int,
        observe: bool = False,
        **_context: object,
    ) -> StageEvaluation:
        checks = tuple(
            CheckResult(
                c.criterion,
                getattr(c, "metric", None),
                c.mode,
                c.acts and not observe,
                decision(
                    c.criterion,
                    self.outcomes.get(c.criterion, GuardOutcome.HEALTHY),
                    _severity(c),
                ),
            )
            for c in stage.checks
        )
        return StageEvaluation(
            minute, checks, 100_000, 100_000, 0, 300_000, 0.5, DataHealth()
        )


def healthy(
    stage: CompiledStage, windows: Mapping[str, Sequence[Window]], **context: Any
) -> StageEvaluation:
    """Every check healthy, plenty of users (the evaluator is tested apart)."""
    return Scripted()(stage, windows, **context)


def launch(service: RunService, state: RunState) -> None:
    """Answer the stage's questions and vote Launch for every role asked."""
    plan = service.plans.context(service.show("R1").row).plan
    if state.stage is not None:
        for q in unanswered(plan, state, state.phase, state.stage):
            assert q.answered_by is not None
            service.command(
                "R1", AnswerQuestion(people(plan, q.answered_by)[0], q.text, "none")
            )
    gate = RunState.from_json(service.show("R1").row.state).gate
    assert gate is not None
    for role in gate.roles:
        for person in people(plan, role)[: gate.quorum]:
            now = RunState.from_json(service.show("R1").row.state)
            # Who voted already does not vote again (a test repeating its
            # people's actions after a restart asks only those still to vote).
            voted = any(v.person == person and v.role == role for v in now.votes)
            if now.status is RunStatus.AWAITING_GO_NO_GO and not voted:
                service.command("R1", Vote(person, role, Answer.LAUNCH, "ok"))
