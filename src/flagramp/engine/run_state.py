"""A run's state: what the machine reads and returns, kept as JSON in the store.

`to_json` writes every field and `from_json` reads back an equal state (times as
ISO 8601 text with their offset), so a controller that stops and starts again
goes on from exactly where it was. The records the state is made of live in
`engine.run_records`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from flagramp.core.types import Json
from flagramp.engine.checkpoint_result import CheckpointError, CheckpointResult
from flagramp.engine.go_live_records import (
    GoLiveDecision,
    GoLiveRecord,
    RetireItem,
    json_list,
)
from flagramp.engine.looks import StageLooks
from flagramp.engine.run_records import (
    AnswerRecord,
    GateAsk,
    RollbackInfo,
    RunStateInvalid,
    SignedItem,
    StageClock,
    VoteRecord,
    Waiting,
    flag,
    integer,
    integers,
    iso,
    items,
    json_object,
    mapping,
    opt_integer,
    opt_text,
    opt_when,
    text,
    texts,
    when,
)

#: Version of the state's JSON layout; `from_json` refuses others.
STATE_FORMAT = 1


class RunStatus(StrEnum):
    """Where a run is; `docs/engine.md` draws the transitions."""

    WAITING_PREREQUISITES = "waiting_prerequisites"
    WAITING_WINDOW = "waiting_window"
    STAGE_RUNNING = "stage_running"
    AWAITING_GO_NO_GO = "awaiting_go_no_go"
    PAUSED = "paused"
    ROLLED_BACK = "rolled_back"
    MANUAL_PHASE = "manual_phase"
    GO_LIVE_WATCHING = "go_live_watching"
    CHECKPOINT_DUE = "checkpoint_due"
    COMPLETED = "completed"
    ABORTED = "aborted"

    @property
    def is_final(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.ABORTED)


@dataclass(frozen=True, slots=True)
class RunState:
    """The run's position and everything it is waiting for."""

    status: RunStatus
    phase: int
    """Index into `plan.phases`."""
    stage: int | None
    """Index into the phase's stages; None before its first stage or in a
    manual phase. In `waiting_window` it is the stage about to be entered."""
    since: dt.datetime
    """When `status` (or the stage) was entered."""
    plan_version: int = 1
    """The plan version the run follows (the controller builds the context from
    this version's text)."""
    pending_revision: int | None = None
    """A revision adopted at the next stage boundary."""
    revision_required: bool = False
    """A Pivot stepped back: the run waits for a revision."""
    observe: bool = False
    signed: tuple[SignedItem, ...] = ()
    gate: GateAsk | None = None
    """The go/no-go being asked (in `awaiting_go_no_go`)."""
    votes: tuple[VoteRecord, ...] = ()
    """Answers given to `gate` so far."""
    answers: tuple[AnswerRecord, ...] = ()
    live_stage: int | None = None
    """The stage of the current phase whose percentage the phase's flags hold;
    None while none of its stages is on (before its first, or rolled back to
    off or to the allow list only)."""
    stage_entered_at: dt.datetime | None = None
    clock: StageClock = field(default_factory=StageClock)
    paused_reason: str | None = None
    rollback: RollbackInfo | None = None
    """The last rollback or kill, until a re-enable."""
    incidents: tuple[dict[str, Json], ...] = ()
    """Open incidents, each the whole record (the runner upserts by `incident`)."""
    incident_count: int = 0
    reported: tuple[str, ...] = ()
    """`<phase>:<criterion>` already acted on or reported at this stage attempt."""
    outside_changed: tuple[str, ...] = ()
    """Flags changed outside the run; no automatic move touches them until a
    person resumes."""
    checklist_done: tuple[int, ...] = ()
    """The manual phase's checklist items done."""
    window_end_noted: int | None = None
    """The phase whose date window's end already paused the run once."""
    stage_results: tuple[dict[str, Json], ...] = ()
    """Every stage left, in order: percentage, times, evidence, decision."""
    waiting: Waiting | None = None
    go_live_decision: GoLiveDecision | None = None
    """The go-live go/no-go's answers, kept when it passes (before go live)."""
    go_live: GoLiveRecord | None = None
    """Set once, when the plan's last rollout stage completes."""
    checkpoints: tuple[CheckpointResult, ...] = ()
    """The go live's checkpoints recorded so far, in the order they fall due;
    people's answers are written into them as they are typed in."""
    retirement: tuple[RetireItem, ...] = ()
    """What the completed run proposes to retire: one checklist item per flag."""
    looks: StageLooks | None = None
    """The evaluated stage attempt's decisions at the last tick, which the
    next tick's guards combine with theirs (`engine.looks`); written by the
    controller, never read by the machine."""

    @property
    def evaluated_stage(self) -> tuple[int, int] | None:
        """(phase, stage) whose windows the controller evaluates for `tick`:
        the stage the current phase's flags are at, if any. None after go live:
        the stages' criteria stop watching then (`watched_until: go_live`)."""
        if self.status.is_final or self.live_stage is None or self.is_live:
            return None
        return self.phase, self.live_stage

    @property
    def is_live(self) -> bool:
        """Whether the run is watching its go live (checkpoints and answers)."""
        return self.status in (RunStatus.GO_LIVE_WATCHING, RunStatus.CHECKPOINT_DUE)

    def counted_minutes(self, now: dt.datetime) -> float:
        """The current stage's counted minutes (data gaps and pauses excluded)."""
        return self.clock.seconds(now) / 60

    def to_json(self) -> dict[str, Json]:
        return {
            "format": STATE_FORMAT,
            "status": self.status.value,
            "phase": self.phase,
            "stage": self.stage,
            "since": iso(self.since),
            "plan_version": self.plan_version,
            "pending_revision": self.pending_revision,
            "revision_required": self.revision_required,
            "observe": self.observe,
            "signed": [s.to_json() for s in self.signed],
            "gate": None if self.gate is None else self.gate.to_json(),
            "votes": [v.to_json() for v in self.votes],
            "answers": [a.to_json() for a in self.answers],
            "live_stage": self.live_stage,
            "stage_entered_at": iso(self.stage_entered_at),
            "clock": self.clock.to_json(),
            "paused_reason": self.paused_reason,
            "rollback": None if self.rollback is None else self.rollback.to_json(),
            "incidents": list(self.incidents),
            "incident_count": self.incident_count,
            "reported": list(self.reported),
            "outside_changed": list(self.outside_changed),
            "checklist_done": list(self.checklist_done),
            "window_end_noted": self.window_end_noted,
            "stage_results": list(self.stage_results),
            "waiting": None if self.waiting is None else self.waiting.to_json(),
            "go_live_decision": None
            if self.go_live_decision is None
            else self.go_live_decision.to_json(),
            "go_live": None if self.go_live is None else self.go_live.to_json(),
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "retirement": [r.to_json() for r in self.retirement],
            "looks": None if self.looks is None else self.looks.to_json(),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> RunState:
        """The state `to_json` wrote; raises RunStateInvalid naming a bad field."""
        if document.get("format") != STATE_FORMAT:
            raise RunStateInvalid(
                "format", f"unknown format {document.get('format')!r}"
            )
        try:
            status = RunStatus(text(document, "status"))
        except ValueError as exc:
            raise RunStateInvalid("status", "unknown status") from exc
        gate = document.get("gate")
        rollback = document.get("rollback")
        waiting = document.get("waiting")
        decision = document.get("go_live_decision")
        go_live = document.get("go_live")
        looks = document.get("looks")
        try:
            checkpoints = tuple(
                CheckpointResult.from_json(c)
                for c in json_list(document, "checkpoints")
            )
        except CheckpointError as exc:
            raise RunStateInvalid("checkpoints", exc.reason) from exc
        return cls(
            status=status,
            phase=integer(document, "phase"),
            stage=opt_integer(document, "stage"),
            since=when(document, "since"),
            plan_version=integer(document, "plan_version"),
            pending_revision=opt_integer(document, "pending_revision"),
            revision_required=flag(document, "revision_required"),
            observe=flag(document, "observe"),
            signed=tuple(
                SignedItem.from_json(mapping(s, "signed"))
                for s in items(document, "signed")
            ),
            gate=None if gate is None else GateAsk.from_json(mapping(gate, "gate")),
            votes=tuple(
                VoteRecord.from_json(mapping(v, "votes"))
                for v in items(document, "votes")
            ),
            answers=tuple(
                AnswerRecord.from_json(mapping(a, "answers"))
                for a in items(document, "answers")
            ),
            live_stage=opt_integer(document, "live_stage"),
            stage_entered_at=opt_when(document, "stage_entered_at"),
            clock=StageClock.from_json(mapping(document.get("clock"), "clock")),
            paused_reason=opt_text(document, "paused_reason"),
            rollback=None
            if rollback is None
            else RollbackInfo.from_json(mapping(rollback, "rollback")),
            incidents=tuple(
                json_object(i, "incidents") for i in items(document, "incidents")
            ),
            incident_count=integer(document, "incident_count"),
            reported=texts(document, "reported"),
            outside_changed=texts(document, "outside_changed"),
            checklist_done=integers(document, "checklist_done"),
            window_end_noted=opt_integer(document, "window_end_noted"),
            stage_results=tuple(
                json_object(r, "stage_results")
                for r in items(document, "stage_results")
            ),
            waiting=None
            if waiting is None
            else Waiting.from_json(mapping(waiting, "waiting")),
            # Fields added after format 1 shipped: absent in older states.
            go_live_decision=None
            if decision is None
            else GoLiveDecision.from_json(mapping(decision, "go_live_decision")),
            go_live=None
            if go_live is None
            else GoLiveRecord.from_json(mapping(go_live, "go_live")),
            checkpoints=checkpoints,
            retirement=tuple(
                RetireItem.from_json(r) for r in json_list(document, "retirement")
            ),
            looks=None
            if looks is None
            else StageLooks.from_json(mapping(looks, "looks")),
        )

    def waiting_for(self) -> str:
        """What the run waits for, and who must act, in words."""
        if self.status.is_final:
            return f"nothing: the run is {self.status.value.replace('_', ' ')}"
        if self.waiting is None:
            return self.status.value.replace("_", " ")
        words = self.waiting.what
        if self.waiting.roles:
            who = ", ".join(self.waiting.roles)
            if self.waiting.people:
                who += f" ({', '.join(self.waiting.people)})"
            words += f"; who must act: {who}"
        return words
