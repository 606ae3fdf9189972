"""A promotion run's state: a `RunState` with the promotion's progress.

A promotion plan (seed 004) runs in the same `runs` tables as a rollout: its
status is one of `RunStatus` (so the controller and `run list` see it), `phase`
is the promotion step, and the progress of every step begun so far is kept in
`promotion` (`StepRecord`): the backup hook's result, the snapshot, the copy,
the probes, the go/no-go votes, the outcome, the restore, and the checklist with
who did each item and when. The JSON is the rollout state's plus `kind:
promotion` and `promotion`; `load_run_state` reads either.

Statuses: `waiting_prerequisites`; `waiting_window` (the step not begun: before
its date, its backup or its time of day); `stage_running` (copied, probes to
run); `awaiting_go_no_go`; `rolled_back` (No-Go: the restore, its hook and the
probes again under way); `completed` (every step Go); `aborted` (a No-Go, or
aborted by a person).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from flagramp.core.types import Json
from flagramp.engine.run_records import (
    SignedItem,
    VoteRecord,
    integer,
    iso,
    items,
    json_object,
    mapping,
    opt_text,
    opt_when,
    text,
)
from flagramp.engine.run_state import RunState, RunStatus

__all__ = [
    "KIND",
    "PromotionState",
    "StepRecord",
    "load_run_state",
]

KIND = "promotion"


def _results(d: Mapping[str, object], name: str) -> tuple[dict[str, Json], ...]:
    return tuple(json_object(r, name) for r in items(d, name))


def _opt_object(d: Mapping[str, object], name: str) -> dict[str, Json] | None:
    value = d.get(name)
    return None if value is None else json_object(value, name)


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What one promotion step did so far. Probe and hook results are
    `ProbeResult.to_json()` documents."""

    step: int
    source: str
    target: str
    backup: dict[str, Json] | None = None
    """The application's backup hook's result (None: no hook registered)."""
    backup_at: dt.datetime | None = None
    backup_schedule: str | None = None
    """The `backup_schedules` row that takes the store's backup of the target."""
    backup_due: dt.datetime | None = None
    store_backup: str | None = None
    """The id of the store's backup (a snapshot of the target) taken for the step."""
    snapshot: str | None = None
    copied_at: dt.datetime | None = None
    copied: dict[str, Json] | None = None
    """Counts: flags created and changed, segments written."""
    probes: tuple[dict[str, Json], ...] = ()
    verified_at: dt.datetime | None = None
    votes: tuple[VoteRecord, ...] = ()
    outcome: str | None = None
    """`go` or `no_go` once decided."""
    decided_at: dt.datetime | None = None
    restored: dict[str, Json] | None = None
    """Counts of the restore: flags and segments changed back."""
    restore_hook: dict[str, Json] | None = None
    probes_after_restore: tuple[dict[str, Json], ...] = ()
    reverified_at: dt.datetime | None = None
    checklist: tuple[SignedItem, ...] = ()
    alerted: tuple[int, ...] = ()
    """Checklist items (and -1, the step itself) whose overrun was alerted."""

    def to_json(self) -> dict[str, Json]:
        return {
            "step": self.step,
            "source": self.source,
            "target": self.target,
            "backup": self.backup,
            "backup_at": iso(self.backup_at),
            "backup_schedule": self.backup_schedule,
            "backup_due": iso(self.backup_due),
            "store_backup": self.store_backup,
            "snapshot": self.snapshot,
            "copied_at": iso(self.copied_at),
            "copied": self.copied,
            "probes": list(self.probes),
            "verified_at": iso(self.verified_at),
            "votes": [v.to_json() for v in self.votes],
            "outcome": self.outcome,
            "decided_at": iso(self.decided_at),
            "restored": self.restored,
            "restore_hook": self.restore_hook,
            "probes_after_restore": list(self.probes_after_restore),
            "reverified_at": iso(self.reverified_at),
            "checklist": [m.to_json() for m in self.checklist],
            "alerted": list(self.alerted),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> StepRecord:
        return cls(
            step=integer(d, "step"),
            source=text(d, "source"),
            target=text(d, "target"),
            backup=_opt_object(d, "backup"),
            backup_at=opt_when(d, "backup_at"),
            backup_schedule=opt_text(d, "backup_schedule"),
            backup_due=opt_when(d, "backup_due"),
            store_backup=opt_text(d, "store_backup"),
            snapshot=opt_text(d, "snapshot"),
            copied_at=opt_when(d, "copied_at"),
            copied=_opt_object(d, "copied"),
            probes=_results(d, "probes"),
            verified_at=opt_when(d, "verified_at"),
            votes=tuple(
                VoteRecord.from_json(mapping(v, "votes")) for v in items(d, "votes")
            ),
            outcome=opt_text(d, "outcome"),
            decided_at=opt_when(d, "decided_at"),
            restored=_opt_object(d, "restored"),
            restore_hook=_opt_object(d, "restore_hook"),
            probes_after_restore=_results(d, "probes_after_restore"),
            reverified_at=opt_when(d, "reverified_at"),
            checklist=tuple(
                SignedItem.from_json(mapping(m, "checklist"))
                for m in items(d, "checklist")
            ),
            alerted=tuple(int(str(a)) for a in items(d, "alerted")),
        )

    @property
    def backup_ok(self) -> bool:
        """The store's backup is taken and the application's hook, if one ran,
        passed."""
        hook_ok = self.backup is None or self.backup.get("ok") is True
        return self.store_backup is not None and hook_ok


@dataclass(frozen=True, slots=True)
class PromotionState(RunState):
    """A promotion run's state (see the module doc)."""

    prerequisites: tuple[SignedItem, ...] = ()
    steps: tuple[StepRecord, ...] = field(default=())
    """One record per step begun, in order (`steps[i].step == i`)."""
    note: str = ""
    """Why the run ended, when it did not complete."""

    @property
    def current(self) -> StepRecord | None:
        """The record of the step the run is at, if begun."""
        return self.steps[self.phase] if self.phase < len(self.steps) else None

    def with_current(self, record: StepRecord) -> PromotionState:
        """This state with the current step's record replaced (or added)."""
        steps = list(self.steps)
        if record.step < len(steps):
            steps[record.step] = record
        else:
            steps.append(record)
        return dataclasses.replace(self, steps=tuple(steps))

    def waiting_for(self) -> str:
        status, record = self.status, self.current
        if status.is_final:
            return f"nothing: the promotion is {status.value}"
        step = f"promotion step {self.phase + 1}"
        if status is RunStatus.WAITING_PREREQUISITES:
            return "prerequisites to sign"
        if status is RunStatus.WAITING_WINDOW:
            return f"{step}: its date, backup or time of day"
        if status is RunStatus.AWAITING_GO_NO_GO:
            return f"{step}: go/no-go votes"
        if status is RunStatus.ROLLED_BACK:
            return f"{step}: the restore and its verification"
        if status is RunStatus.STAGE_RUNNING and record is not None:
            return f"{step}: verification probes"
        return status.value.replace("_", " ")

    def to_json(self) -> dict[str, Json]:
        document = RunState.to_json(self)
        document["waiting"] = None
        document["kind"] = KIND
        document["promotion"] = {
            "prerequisites": [m.to_json() for m in self.prerequisites],
            "steps": [s.to_json() for s in self.steps],
            "note": self.note,
        }
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> PromotionState:
        base = RunState.from_json(document)
        progress = mapping(document.get("promotion"), "promotion")
        values = {f.name: getattr(base, f.name) for f in dataclasses.fields(RunState)}
        return cls(
            **values,
            prerequisites=tuple(
                SignedItem.from_json(mapping(m, "prerequisites"))
                for m in items(progress, "prerequisites")
            ),
            steps=tuple(
                StepRecord.from_json(mapping(s, "steps"))
                for s in items(progress, "steps")
            ),
            note=opt_text(progress, "note") or "",
        )


def load_run_state(document: Mapping[str, object]) -> RunState:
    """A stored run state: a promotion's or a rollout's."""
    if document.get("kind") == KIND:
        return PromotionState.from_json(document)
    return RunState.from_json(document)
