"""A small stand-in for `engine.service.RunService`: one run of the UAE plan
waiting for its go/no-go, with a kill switch that really turns the run's flag
off in the store (as the runner does), and role checks like the machine's."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from flagramp.core.flags import operations as ops
from flagramp.core.plans import Plan, load_plan
from flagramp.core.types import Json
from flagramp.engine.commands import Command, CommandRefused, Kill, Pause, Vote
from flagramp.engine.transitions.people import holds, kill_roles
from flagramp.store import Author, SqlFlagStore

PLAN_TEXT = (
    Path(__file__).parents[3] / "examples" / "uae-appointments-dark-deploy.yaml"
).read_text(encoding="utf-8")
RUN = "R1"
ON_CALL = "uae-on-call@va.gov"
ENG_LEAD = "uae-eng-lead@va.gov"
#: A criterion's evidence as the machine freezes it (`CheckResult.to_json`).
CHECK: dict[str, Json] = {
    "criterion": "api error rate",
    "metric": "api_error_rate",
    "mode": "rollback",
    "acts": True,
    "decision": {
        "outcome": "healthy",
        "severity": "none",
        "evidence": {
            "estimate": 0.012,
            "lower": 0.008,
            "upper": 0.016,
            "reference": 0.05,
        },
    },
}


@dataclass(frozen=True)
class Row:
    id: str
    plan_name: str
    plan_text: str
    environment: str
    status: str
    state: Mapping[str, Json]
    observe: bool = False
    created_at: str = "2026-03-02T09:00:00+00:00"
    updated_at: str = "2026-03-02T10:00:00+00:00"


@dataclass(frozen=True)
class Incident:
    incident: str
    record: Mapping[str, Json]


@dataclass(frozen=True)
class Detail:
    row: Row
    waiting_for: str | None
    phase: str | None
    stage: str | None
    last_evaluation: Mapping[str, Json] | None
    incidents: Sequence[Incident] = ()


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    kind: str
    actor: str | None
    data: Mapping[str, Json]


def first_flag(plan: Plan) -> str:
    for _index, phase in plan.rollout_phases():
        return str(phase.flags[0])
    raise AssertionError("the plan has no rollout phase")


@dataclass
class FakeRuns:
    """Runs in memory; a kill writes the flag change to the real store."""

    store: SqlFlagStore
    environment: str = "production"
    plan: Plan = field(default_factory=lambda: load_plan(PLAN_TEXT).plan)
    rows: dict[str, Row] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    incidents: dict[str, list[Incident]] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)

    def __post_init__(self) -> None:
        evaluation: dict[str, Json] = {
            "minute": 29_500_000,
            "checks": [CHECK],
            "treatment_users": 41,
            "control_users": 780,
        }
        state: dict[str, Json] = {
            "status": "awaiting_go_no_go",
            "phase": 0,
            "stage": 0,
            "gate": {
                "kind": "exit",
                "index": 0,
                "roles": ["eng_lead", "product_owner"],
                "quorum": 1,
                "asked_at": "2026-03-02T10:00:00+00:00",
                "evidence": {
                    "risks": ["Oracle latency spikes"],
                    "evaluation": evaluation,
                },
            },
            "votes": [],
            "waiting": {
                "what": "answers to the go/no-go",
                "roles": ["eng_lead", "product_owner"],
                "people": [ENG_LEAD],
            },
            "clock": {"counted": 3600.0, "running_since": None},
        }
        self.rows[RUN] = Row(
            RUN, self.plan.name, PLAN_TEXT, self.environment, "awaiting_go_no_go", state
        )
        self.events[RUN] = [
            Event(
                1, "2026-03-02T09:00:00+00:00", "run_started", "lead@example.org", {}
            ),
            Event(
                2,
                "2026-03-02T10:00:00+00:00",
                "go_no_go_asked",
                None,
                {"kind": "exit", "evidence": {"evaluation": evaluation}},
            ),
        ]
        self.incidents[RUN] = []

    @property
    def flag(self) -> str:
        return first_flag(self.plan)

    def list(self, statuses: Sequence[str] | None = None) -> list[Row]:
        return [r for r in self.rows.values() if not statuses or r.status in statuses]

    def show(self, run: str) -> Detail:
        row = self.rows[run]
        return Detail(
            row,
            "answers to the go/no-go",
            self.plan.phases[0].name,
            "canary",
            None,
            tuple(self.incidents[run]),
        )

    def row(self, run: str) -> Row:
        return self.rows[run]

    def log(self, run: str, since: int = 0) -> builtins.list[Event]:
        return [e for e in self.events[run] if e.seq > since]

    def command(self, run: str, cmd: Command) -> object:
        row = self.rows[run]
        self.commands.append(cmd)
        state = dict(row.state)
        if isinstance(cmd, Kill):
            if not any(holds(self.plan, cmd.person, r) for r in kill_roles(self.plan)):
                raise CommandRefused("not your role", code="not_your_role")
            self.store.change_flag(
                self.flag,
                ops.disable,
                Author(cmd.person, f"run {run}: Kill"),
                self.environment,
                "disable",
            )
            state["status"] = "rolled_back"
            self.incidents[run].append(
                Incident(
                    "I1", {"trigger": "kill", "severity": "critical", "note": cmd.note}
                )
            )
            kind = "killed"
        elif isinstance(cmd, Vote):
            if not holds(self.plan, cmd.person, cmd.role):
                raise CommandRefused("not your role", code="not_your_role")
            state["votes"] = [
                {
                    "person": cmd.person,
                    "role": cmd.role,
                    "answer": cmd.answer.value,
                    "comment": cmd.comment,
                }
            ]
            kind = "voted"
        elif isinstance(cmd, Pause):
            state["status"] = "paused"
            kind = "paused"
        else:
            raise CommandRefused("not waiting for that", code="not_waiting_for_that")
        self.rows[run] = replace(row, status=str(state["status"]), state=state)
        seq = len(self.events[run]) + 1
        at = dt.datetime(2026, 3, 2, 11, tzinfo=dt.UTC).isoformat()
        self.events[run].append(
            Event(seq, at, kind, cmd.person, {"note": getattr(cmd, "note", "")})
        )
        return None
