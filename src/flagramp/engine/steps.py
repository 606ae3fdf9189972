"""What one transition of a run produces: the new state and what goes with it.

The machine (`engine.machine`) is pure: given a run's state, the time and an
observation or a command, it returns a `Step`. The runner (`engine.runner`)
writes a step in one unit of work: the run's row, its events, the flag moves
with their audit rows, the incidents and the notices' outbox rows commit
together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flagramp.core.types import Json
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_state import RunState


@dataclass(frozen=True, slots=True)
class RunEventDraft:
    """One entry of the run's append-only log; the runner numbers and dates it."""

    kind: str
    """`run_started`, `stage_entered`, `guard_harmful`, `rolled_back`, ..."""
    actor: str | None
    """The person who acted, or None for the controller."""
    data: dict[str, Json] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlagMove:
    """Set one flag to a stage's percentage (0 with no allow list: off for all)."""

    flag: str
    percentage: float
    """Percentage of actors within the eligible segment, three decimals."""
    bucket_key: str | None
    """The key actors are bucketed on (None: the flag's own)."""
    eligible: str | None
    allow_list: tuple[str, ...]
    reason: str
    """Why, for the audit row: `stage_entered`, `rolled_back`, `killed`, ..."""


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """A notice to enqueue with the step; the runner keys it `<run>:<event seq>`
    on the step's first event and reaches `roles` (plan role names)."""

    kind: NoticeKind
    title: str
    text: str
    roles: tuple[str, ...] = ()
    data: dict[str, Json] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IncidentDraft:
    """An incident opened or updated by the step (the runner upserts by id)."""

    incident: str
    """Stable id within the run: `I1`, `I2`, ..."""
    record: dict[str, Json]
    """The whole incident as JSON: severity, trigger, criterion, evidence,
    detected/acted/verified times, fingerprints, users affected, who acted,
    root cause, re-enable approval."""


@dataclass(frozen=True, slots=True)
class Step:
    """A transition: an unchanged state with no events means nothing happened."""

    state: RunState
    events: tuple[RunEventDraft, ...] = ()
    flag_moves: tuple[FlagMove, ...] = ()
    notices: tuple[NoticeDraft, ...] = ()
    incidents: tuple[IncidentDraft, ...] = ()
    repeated: bool = False
    """The command repeats one the run has already taken (an identical vote
    on the go/no-go still asked): nothing is written, and the caller answers
    as it answered the first (`RunService.command`)."""

    @property
    def changed(self) -> bool:
        """Whether the step has anything to write."""
        return bool(self.events or self.flag_moves or self.incidents)
