"""What people ask of a run: each command names the person; the machine checks
that the person holds the plan role the command needs (`CommandRefused` if not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flagramp.core.errors import EngineError
from flagramp.core.plans import Answer
from flagramp.core.severity import Severity
from flagramp.engine.run_records import VoteRecord


class CommandRefused(EngineError):
    """A command the run cannot take now, or from this person."""

    code = "command_refused"

    def __init__(self, reason: str, *, code: str = "command_refused") -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class SignPrerequisite:
    person: str
    item: int
    """Index into the plan's prerequisites."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class AnswerQuestion:
    """An answer to a stage's (or the go live's) recorded question."""

    person: str
    question: str
    """The question's text, as the plan writes it."""
    text: str
    checkpoint: str | None = None
    """A go-live checkpoint's name: the answer goes into that checkpoint's
    record. None: the current stage's question, or else the latest recorded
    checkpoint still waiting for it (else the latest that asks it)."""


@dataclass(frozen=True, slots=True)
class Vote:
    """A go/no-go answer for one role: Launch, Pause or Pivot, with a comment."""

    person: str
    role: str
    answer: Answer
    comment: str = ""

    def repeats(self, votes: Iterable[VoteRecord]) -> bool:
        """Whether the go/no-go's votes so far hold this very vote: the same
        person, role, answer and comment (a retried request, a second click).
        A changed answer or comment is a new vote."""
        mine = (self.person, self.role, self.answer.value, self.comment)
        return any((v.person, v.role, v.answer, v.comment) == mine for v in votes)


@dataclass(frozen=True, slots=True)
class Pause:
    person: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Resume:
    person: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Kill:
    """The kill switch: every flag of the run off for everyone, at once."""

    person: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class RaiseIncident:
    """A problem seen by a person: applies the severity's rollback action."""

    person: str
    severity: Severity
    note: str


@dataclass(frozen=True, slots=True)
class ReEnable:
    """Approve re-enabling after a rollback or kill, with the root cause."""

    person: str
    root_cause: str
    stage: int | None = None
    """Resume at this stage index (at most what the plan's `resume_at` gives)."""


@dataclass(frozen=True, slots=True)
class ConfirmRevert:
    """A `revert_confirmed_by` role confirms the revert is deployed."""

    person: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Revise:
    """Adopt a new version of the plan (validated and compiled by the caller)."""

    person: str
    plan_text: str
    plan_hash: str
    diff: str
    loosens: tuple[str, ...]
    """What the revision loosens (needs the product owner if not empty)."""


@dataclass(frozen=True, slots=True)
class FinishManualPhase:
    """The manual phase's owner ends it (its checklist done, if required)."""

    person: str
    done: tuple[int, ...] = ()
    """Checklist item indexes done with this command."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class CompleteRun:
    """The owner or product owner completes a live run once every checkpoint is
    recorded, with people's questions still open (they stay `awaiting`)."""

    person: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Abort:
    person: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class MeetMilestone:
    """A plan milestone reached (`engine.milestones`): recorded with today's
    date against its target."""

    person: str
    name: str
    """The milestone's name, as the plan writes it."""
    note: str = ""


Command = (
    SignPrerequisite
    | AnswerQuestion
    | Vote
    | Pause
    | Resume
    | Kill
    | RaiseIncident
    | ReEnable
    | ConfirmRevert
    | Revise
    | FinishManualPhase
    | CompleteRun
    | Abort
    | MeetMilestone
)
