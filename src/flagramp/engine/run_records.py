"""The small records a run's state is made of, each with its JSON form.

Every record is a frozen value; `to_json` writes plain JSON (datetimes as ISO
8601 text with their offset) and `from_json` reads back an equal value, so a
state stored and loaded is the state that was stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flagramp.core.errors import EngineError
from flagramp.core.types import Json


class RunStateInvalid(EngineError):
    """A stored run state that does not read back (a field missing or mistyped)."""

    code = "run_state_invalid"

    def __init__(self, field: str, detail: str) -> None:
        self.field, self.detail = field, detail
        super().__init__(f"run state field {field!r}: {detail}")


# -- reading JSON fields --------------------------------------------------------


def field(document: Mapping[str, object], name: str) -> object:
    """The field `name`; raises RunStateInvalid when it is missing."""
    if name not in document:
        raise RunStateInvalid(name, "missing")
    return document[name]


def text(document: Mapping[str, object], name: str) -> str:
    value = field(document, name)
    if not isinstance(value, str):
        raise RunStateInvalid(name, "must be text")
    return value


def opt_text(document: Mapping[str, object], name: str) -> str | None:
    value = document.get(name)
    return None if value is None else text(document, name)


def integer(document: Mapping[str, object], name: str) -> int:
    value = field(document, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RunStateInvalid(name, "must be an integer")
    return value


def opt_integer(document: Mapping[str, object], name: str) -> int | None:
    return None if document.get(name) is None else integer(document, name)


def number(document: Mapping[str, object], name: str) -> float:
    value = field(document, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RunStateInvalid(name, "must be a number")
    return float(value)


def opt_number(document: Mapping[str, object], name: str) -> float | None:
    return None if document.get(name) is None else number(document, name)


def flag(document: Mapping[str, object], name: str) -> bool:
    value = field(document, name)
    if not isinstance(value, bool):
        raise RunStateInvalid(name, "must be true or false")
    return value


def when(document: Mapping[str, object], name: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text(document, name))
    except ValueError as exc:
        raise RunStateInvalid(name, "must be an ISO 8601 time") from exc


def opt_when(document: Mapping[str, object], name: str) -> dt.datetime | None:
    return None if document.get(name) is None else when(document, name)


def iso(moment: dt.datetime | None) -> str | None:
    """A time as ISO 8601 text, or None."""
    return None if moment is None else moment.isoformat()


def items(document: Mapping[str, object], name: str) -> list[object]:
    value = document.get(name, [])
    if not isinstance(value, list):
        raise RunStateInvalid(name, "must be a list")
    return value


def mapping(value: object, name: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise RunStateInvalid(name, "must be an object")
    return value


def json_object(value: object, name: str) -> dict[str, Json]:
    # Values inside are JSON already (they were written by to_json); only the
    # outer shape is checked.
    if not isinstance(value, dict):
        raise RunStateInvalid(name, "must be an object")
    return value


def texts(document: Mapping[str, object], name: str) -> tuple[str, ...]:
    values = items(document, name)
    if not all(isinstance(v, str) for v in values):
        raise RunStateInvalid(name, "must be a list of text")
    return tuple(str(v) for v in values)


def integers(document: Mapping[str, object], name: str) -> tuple[int, ...]:
    values = items(document, name)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise RunStateInvalid(name, "must be a list of integers")
    return tuple(int(str(v)) for v in values)


# -- the records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedItem:
    """A prerequisite signed by a person holding its role."""

    item: int
    person: str
    at: dt.datetime
    note: str = ""

    def to_json(self) -> dict[str, Json]:
        return {
            "item": self.item,
            "person": self.person,
            "at": iso(self.at),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> SignedItem:
        return cls(
            integer(document, "item"),
            text(document, "person"),
            when(document, "at"),
            text(document, "note"),
        )


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """One person's answer, for one role, to the go/no-go being asked."""

    role: str
    person: str
    answer: str
    """`launch`, `pause` or `pivot` (`core.plans.Answer`)."""
    comment: str
    at: dt.datetime

    def to_json(self) -> dict[str, Json]:
        return {
            "role": self.role,
            "person": self.person,
            "answer": self.answer,
            "comment": self.comment,
            "at": iso(self.at),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> VoteRecord:
        return cls(
            text(document, "role"),
            text(document, "person"),
            text(document, "answer"),
            text(document, "comment"),
            when(document, "at"),
        )


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """An answer to a question a stage (or the go live) records."""

    phase: int
    stage: int | None
    """None for a go-live question."""
    question: str
    person: str
    text: str
    at: dt.datetime

    def to_json(self) -> dict[str, Json]:
        return {
            "phase": self.phase,
            "stage": self.stage,
            "question": self.question,
            "person": self.person,
            "text": self.text,
            "at": iso(self.at),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> AnswerRecord:
        return cls(
            integer(document, "phase"),
            opt_integer(document, "stage"),
            text(document, "question"),
            text(document, "person"),
            text(document, "text"),
            when(document, "at"),
        )


#: Kinds of go/no-go a run asks: before a phase's first flag change, before a
#: stage moves on, when a stage is still undecided at its `max_time`, and (in
#: observe mode) the person who moves every percentage.
GATE_KINDS = ("entry", "exit", "undecided")


@dataclass(frozen=True, slots=True)
class GateAsk:
    """The go/no-go being asked, with the evidence frozen when it was asked."""

    kind: str
    """One of `GATE_KINDS`."""
    index: int
    """Which of the gates of that kind (they are asked in order)."""
    roles: tuple[str, ...]
    quorum: int
    asked_at: dt.datetime
    evidence: dict[str, Json] | None = None
    """The stage's evaluation and the plan's risks when the question was asked."""

    def to_json(self) -> dict[str, Json]:
        return {
            "kind": self.kind,
            "index": self.index,
            "roles": list(self.roles),
            "quorum": self.quorum,
            "asked_at": iso(self.asked_at),
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> GateAsk:
        kind = text(document, "kind")
        if kind not in GATE_KINDS:
            raise RunStateInvalid("gate.kind", f"unknown kind {kind!r}")
        evidence = document.get("evidence")
        return cls(
            kind,
            integer(document, "index"),
            texts(document, "roles"),
            integer(document, "quorum"),
            when(document, "asked_at"),
            None if evidence is None else json_object(evidence, "gate.evidence"),
        )


@dataclass(frozen=True, slots=True)
class StageClock:
    """A stage's counted time: it runs only while the evidence can be trusted.

    `counted` seconds were counted up to the last stop; while `running_since` is
    set the clock runs from then. A data gap stops it (`gap_since` says since
    when the evidence is missing, `gap_reason` why).
    """

    counted: float = 0.0
    running_since: dt.datetime | None = None
    gap_reason: str | None = None
    gap_since: dt.datetime | None = None

    def seconds(self, now: dt.datetime) -> float:
        """Counted seconds at `now`."""
        running = self.running_since
        extra = (now - running).total_seconds() if running is not None else 0.0
        return self.counted + max(0.0, extra)

    def stopped(self, at: dt.datetime) -> StageClock:
        """The clock stopped at `at` (no earlier than it last started)."""
        if self.running_since is None:
            return self
        at = max(at, self.running_since)
        return StageClock(self.seconds(at), None, self.gap_reason, self.gap_since)

    def started(self, at: dt.datetime) -> StageClock:
        """The clock running from `at`, with no gap."""
        if self.running_since is not None:
            return StageClock(self.counted, self.running_since)
        return StageClock(self.counted, at)

    def to_json(self) -> dict[str, Json]:
        return {
            "counted": self.counted,
            "running_since": iso(self.running_since),
            "gap_reason": self.gap_reason,
            "gap_since": iso(self.gap_since),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> StageClock:
        return cls(
            number(document, "counted"),
            opt_when(document, "running_since"),
            opt_text(document, "gap_reason"),
            opt_when(document, "gap_since"),
        )


#: How a rollback's verification stands.
PENDING, VERIFIED, NOT_EFFECTIVE = "pending", "verified", "not_effective"


@dataclass(frozen=True, slots=True)
class RollbackInfo:
    """The last rollback or kill: what was done, and what it waits for."""

    incident: str
    action: str
    """`disable_all`, `step_back` or `kill`."""
    phase: int
    """The phase whose flags were rolled back."""
    from_stage: int | None
    """The stage the flags were at (None: none of the phase's was on)."""
    to_stage: int | None
    """The stage they went back to; None: off (or the allow list only)."""
    resume_stage: int | None
    """Where a re-enable resumes by default (`semantics.resume_stage`)."""
    acted_at: dt.datetime
    expected_share: float
    """The treatment share the flags should now give (0: nobody)."""
    verification: str = PENDING
    revert_required: bool = False
    revert_confirmed: bool = False

    @property
    def verification_from(self) -> dt.datetime:
        """Exposures count from the window after the one the rollback acted in."""
        return self.acted_at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)

    @property
    def judged_at(self) -> dt.datetime:
        """Two whole windows after `verification_from` the verification is judged."""
        return self.verification_from + dt.timedelta(minutes=2)

    def to_json(self) -> dict[str, Json]:
        return {
            "incident": self.incident,
            "action": self.action,
            "phase": self.phase,
            "from_stage": self.from_stage,
            "to_stage": self.to_stage,
            "resume_stage": self.resume_stage,
            "acted_at": iso(self.acted_at),
            "expected_share": self.expected_share,
            "verification": self.verification,
            "revert_required": self.revert_required,
            "revert_confirmed": self.revert_confirmed,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> RollbackInfo:
        return cls(
            text(document, "incident"),
            text(document, "action"),
            integer(document, "phase"),
            opt_integer(document, "from_stage"),
            opt_integer(document, "to_stage"),
            opt_integer(document, "resume_stage"),
            when(document, "acted_at"),
            number(document, "expected_share"),
            text(document, "verification"),
            flag(document, "revert_required"),
            flag(document, "revert_confirmed"),
        )


@dataclass(frozen=True, slots=True)
class Waiting:
    """What the run waits for, in words, and the roles and people who must act."""

    what: str
    roles: tuple[str, ...] = ()
    people: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Json]:
        return {
            "what": self.what,
            "roles": list(self.roles),
            "people": list(self.people),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> Waiting:
        return cls(
            text(document, "what"), texts(document, "roles"), texts(document, "people")
        )
