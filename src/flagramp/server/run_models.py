"""The JSON shapes of `/api/v1/runs`: what the routes answer and take.

Declared as pydantic models so that the OpenAPI document says exactly what
each route answers (`response_model`), and so that a body of the wrong shape
is a 422 `invalid_request` problem before the engine sees it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from flagramp.core.identifiers import TEXT_MAX
from flagramp.core.plans import Answer
from flagramp.core.severity import Severity
from flagramp.engine.runner import Applied
from flagramp.engine.service import RunView
from flagramp.store.runs import IncidentRow, RunEvent, RunRow

Note = Field("", max_length=TEXT_MAX, description="A note for the run's log")


class RunSummary(BaseModel):
    """One run's row."""

    run: str
    plan: str
    plan_version: int
    plan_hash: str
    environment: str
    status: str
    observe: bool
    version: int
    created_by: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: RunRow) -> RunSummary:
        return cls(
            run=row.id,
            plan=row.plan_name,
            plan_version=row.plan_version,
            plan_hash=row.plan_hash,
            environment=row.environment,
            status=row.status,
            observe=row.observe,
            version=row.version,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class RunList(BaseModel):
    runs: list[RunSummary]


class WaitingFor(BaseModel):
    """What the run waits for, in words, and the plan roles and people who act."""

    what: str
    roles: list[str]
    people: list[str]


class Incident(BaseModel):
    """An incident: its id and whole record (trigger, severity, timeline…)."""

    incident: str
    record: dict[str, Any]
    updated_at: str

    @classmethod
    def of(cls, row: IncidentRow) -> Incident:
        return cls(incident=row.incident, record=row.record, updated_at=row.updated_at)


class Milestone(BaseModel):
    """A plan milestone: its target date and, once met, the actual one."""

    name: str
    target: str
    owner: str | None
    actual: str | None
    by: str | None
    days_late: int | None


class RunDetail(RunSummary):
    """Where a run is: its state, what it waits for and from whom, its current
    phase and stage, its last evaluation and its incidents."""

    phase: str | None
    stage: str | None
    waiting_for: WaitingFor | None
    last_evaluation: dict[str, Any] | None
    incidents: list[Incident]
    milestones: list[Milestone]
    state: dict[str, Any]

    @classmethod
    def of_view(cls, view: RunView) -> RunDetail:
        row = view.row
        waiting = _waiting(row.state, view.waiting_for)
        return cls(
            **RunSummary.of(row).model_dump(),
            phase=view.phase,
            stage=view.stage,
            waiting_for=waiting,
            last_evaluation=view.last_evaluation,
            incidents=[Incident.of(i) for i in view.incidents],
            milestones=[Milestone.model_validate(m.to_json()) for m in view.milestones],
            state=row.state,
        )


def _waiting(state: dict[str, Any], words: str | None) -> WaitingFor | None:
    stored = state.get("waiting")
    if isinstance(stored, dict):
        return WaitingFor(
            what=str(stored.get("what", words or "")),
            roles=[str(r) for r in stored.get("roles", [])],
            people=[str(p) for p in stored.get("people", [])],
        )
    if words is None:
        return None
    return WaitingFor(what=words, roles=[], people=[])


class LogEntry(BaseModel):
    seq: int
    at: str
    kind: str
    actor: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, event: RunEvent) -> LogEntry:
        return cls(
            seq=event.seq,
            at=event.at,
            kind=event.kind,
            actor=event.actor,
            data=event.data,
        )


class RunLog(BaseModel):
    """The run's events after `since`; `last_seq` is the `since` to ask next."""

    run: str
    events: list[LogEntry]
    last_seq: int


class IncidentList(BaseModel):
    run: str
    incidents: list[Incident]


class CommandAnswer(BaseModel):
    """What a command wrote: the run's new version and status, the events it
    appended and the flags it set."""

    run: str
    version: int
    status: str
    events: list[int]
    flags_changed: list[str]

    @classmethod
    def of(cls, run: str, applied: Applied, status: str) -> CommandAnswer:
        return cls(
            run=run,
            version=applied.version,
            status=status,
            events=list(applied.seqs),
            flags_changed=list(applied.flags_changed),
        )


# --- bodies ---------------------------------------------------------------------


class PlanSource(BaseModel):
    """A plan's text, or an uploaded plan by name (and revision)."""

    text: str | None = Field(None, description="The plan (YAML)")
    file: str = Field("plan.yaml", max_length=200)
    plan: str | None = Field(None, max_length=200, description="An uploaded plan")
    revision: int | None = Field(None, ge=1, description="Default: the newest")


class StartRun(PlanSource):
    """Start a run from a plan's text, or from an uploaded plan by name."""

    environment: str | None = Field(None, max_length=64)
    observe: bool = False


class NoteBody(BaseModel):
    note: str = Note


class SignBody(BaseModel):
    item: int = Field(ge=1, description="The prerequisite, numbered from 1")
    note: str = Note


class AnswerBody(BaseModel):
    question: str = Field(max_length=TEXT_MAX, description="As the plan writes it")
    text: str = Field(max_length=TEXT_MAX)
    checkpoint: str | None = Field(None, max_length=200)


class VoteBody(BaseModel):
    role: str = Field(max_length=200, description="The plan role you answer for")
    answer: Answer
    comment: str = Field("", max_length=TEXT_MAX)


class IncidentBody(BaseModel):
    severity: Severity
    note: str = Field(min_length=1, max_length=TEXT_MAX, description="What was seen")


class ReEnableBody(BaseModel):
    root_cause: str = Field(max_length=TEXT_MAX)
    stage: int | None = Field(None, ge=1, description="Resume at this stage (from 1)")


class MilestoneBody(BaseModel):
    name: str = Field(max_length=200, description="The milestone, as the plan has it")
    note: str = Note


class FinishBody(BaseModel):
    done: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, description="Checklist items done, from 1"
    )
    note: str = Note
