"""What a go-live checkpoint found: values, not computations (`engine.checkpoints`).

A `CheckpointResult` is what the run keeps when a checkpoint comes due (1 week,
1 month after go live): each KPI's actual against its target, the metrics the
checkpoint records, unique users, error types, and the post-launch questions.
Questions answered by a query carry their value; questions for people stay
`awaiting` with the role named until someone of that role types an answer in
(`with_answer`). Nothing here is ever filled in by flagramp on a person's behalf.

Every value round-trips through `to_json`/`from_json` exactly, so the run log and
the report read the same record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from flagramp.core.errors import EngineError
from flagramp.core.types import Json


class CheckpointError(EngineError):
    """A checkpoint cannot be computed, read or answered as asked."""

    code = "checkpoint_error"

    def __init__(self, reason: str, *, code: str = "checkpoint_error") -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)


class KpiStatus(StrEnum):
    """A KPI's actual against its target."""

    MET = "met"
    NOT_MET = "not_met"
    NO_DATA = "no_data"
    """No events for the KPI's metric in the checkpoint's windows."""


class QuestionStatus(StrEnum):
    """Where a post-launch question stands."""

    ANSWERED = "answered"
    """A query gave the value, or a person typed the answer in."""
    AWAITING = "awaiting"
    """Waiting for a person of `answered_by`."""
    NO_DATA = "no_data"
    """A query question whose metric had no events."""


@dataclass(frozen=True, slots=True)
class SplitRow:
    """One row of a breakdown: its label, how many events, their share in percent."""

    label: str
    count: float
    share: float


@dataclass(frozen=True, slots=True)
class MetricValue:
    """A metric over the checkpoint's windows.

    `value` is in the metric's unit: percent for ratios and shares, events for
    counts, the value's unit for means and quantiles, actors for unique actors;
    None without data (`note` says why). `numerator`/`denominator` are what it was
    computed from (for a quantile, the values counted). `per_user` is a count's
    events per exposed user, `per_active_user` per user with the event (when the
    plan has a users metric over the same events). `split` breaks the metric's
    events down by `split_on` (device, route or status class).
    """

    metric: str
    kind: str
    value: float | None
    unit: str
    numerator: float
    denominator: float
    lanes: tuple[str, ...]
    note: str | None = None
    per_user: float | None = None
    per_active_user: float | None = None
    split_on: str | None = None
    split: tuple[SplitRow, ...] = ()

    def to_json(self) -> dict[str, Json]:
        return {
            "metric": self.metric,
            "kind": self.kind,
            "value": self.value,
            "unit": self.unit,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "lanes": list(self.lanes),
            "note": self.note,
            "per_user": self.per_user,
            "per_active_user": self.per_active_user,
            "split_on": self.split_on,
            "split": [[r.label, r.count, r.share] for r in self.split],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> MetricValue:
        return cls(
            metric=_str(doc["metric"]),
            kind=_str(doc["kind"]),
            value=_opt_float(doc["value"]),
            unit=_str(doc["unit"]),
            numerator=_float(doc["numerator"]),
            denominator=_float(doc["denominator"]),
            lanes=tuple(_str(x) for x in _list(doc["lanes"])),
            note=_opt_str(doc["note"]),
            per_user=_opt_float(doc["per_user"]),
            per_active_user=_opt_float(doc["per_active_user"]),
            split_on=_opt_str(doc["split_on"]),
            split=tuple(
                SplitRow(_str(r[0]), _float(r[1]), _float(r[2]))
                for r in (_list(row) for row in _list(doc["split"]))
            ),
        )


@dataclass(frozen=True, slots=True)
class KpiResult:
    """One KPI: its target and the actual value at the checkpoint."""

    name: str
    description: str
    target: str
    """In words: `below 5`."""
    below: float | None
    above: float | None
    actual: MetricValue
    status: KpiStatus

    def to_json(self) -> dict[str, Json]:
        return {
            "name": self.name,
            "description": self.description,
            "target": self.target,
            "below": self.below,
            "above": self.above,
            "actual": self.actual.to_json(),
            "status": self.status.value,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> KpiResult:
        return cls(
            name=_str(doc["name"]),
            description=_str(doc["description"]),
            target=_str(doc["target"]),
            below=_opt_float(doc["below"]),
            above=_opt_float(doc["above"]),
            actual=MetricValue.from_json(_map(doc["actual"])),
            status=KpiStatus(_str(doc["status"])),
        )


@dataclass(frozen=True, slots=True)
class ErrorType:
    """One error fingerprint seen after go live: how often, by how many, since when.

    `first_seen` is in epoch seconds; `users` is exact up to the sketch's exact cap,
    then a HyperLogLog estimate.
    """

    fingerprint: str
    count: int
    users: int
    first_seen: float

    @property
    def first_seen_at(self) -> dt.datetime:
        """`first_seen` as an aware UTC time."""
        return dt.datetime.fromtimestamp(self.first_seen, dt.UTC)

    def to_json(self) -> dict[str, Json]:
        return {
            "fingerprint": self.fingerprint,
            "count": self.count,
            "users": self.users,
            "first_seen": self.first_seen,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> ErrorType:
        return cls(
            _str(doc["fingerprint"]),
            _int(doc["count"]),
            _int(doc["users"]),
            _float(doc["first_seen"]),
        )


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """A post-launch question: its value (query), or a person's answer, or waiting.

    `follow_up` is present only once the question was answered "yes" (seed 000:
    "If yes, what"): before that it is not asked.
    """

    text: str
    status: QuestionStatus
    answered_by: str | None = None
    """The role that types the answer in (people's questions)."""
    query: str | None = None
    value: MetricValue | None = None
    answer: str | None = None
    person: str | None = None
    """Who typed the answer in."""
    answered_at: dt.datetime | None = None
    yes_no: bool = False
    follow_up_text: str | None = None
    follow_up_role: str | None = None
    follow_up: QuestionResult | None = None

    def to_json(self) -> dict[str, Json]:
        return {
            "text": self.text,
            "status": self.status.value,
            "answered_by": self.answered_by,
            "query": self.query,
            "value": None if self.value is None else self.value.to_json(),
            "answer": self.answer,
            "person": self.person,
            "answered_at": (
                None if self.answered_at is None else self.answered_at.isoformat()
            ),
            "yes_no": self.yes_no,
            "follow_up_text": self.follow_up_text,
            "follow_up_role": self.follow_up_role,
            "follow_up": None if self.follow_up is None else self.follow_up.to_json(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> QuestionResult:
        value, at, follow = doc["value"], doc["answered_at"], doc["follow_up"]
        return cls(
            text=_str(doc["text"]),
            status=QuestionStatus(_str(doc["status"])),
            answered_by=_opt_str(doc["answered_by"]),
            query=_opt_str(doc["query"]),
            value=None if value is None else MetricValue.from_json(_map(value)),
            answer=_opt_str(doc["answer"]),
            person=_opt_str(doc["person"]),
            answered_at=None if at is None else dt.datetime.fromisoformat(_str(at)),
            yes_no=bool(doc["yes_no"]),
            follow_up_text=_opt_str(doc["follow_up_text"]),
            follow_up_role=_opt_str(doc["follow_up_role"]),
            follow_up=None if follow is None else cls.from_json(_map(follow)),
        )

    def answered(self, text: str, person: str, at: dt.datetime) -> QuestionResult:
        """This question with a person's answer; a "yes" opens its follow-up."""
        follow = self.follow_up
        says_yes = text.strip().lower() in ("yes", "y")
        if self.yes_no and says_yes and follow is None and self.follow_up_text:
            follow = QuestionResult(
                self.follow_up_text,
                QuestionStatus.AWAITING,
                answered_by=self.follow_up_role,
            )
        return replace(
            self,
            status=QuestionStatus.ANSWERED,
            answer=text,
            person=person,
            answered_at=at,
            follow_up=follow,
        )


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """Everything one checkpoint records, as the run keeps it.

    `start_minute`/`end_minute` (epoch minutes) are what was asked for;
    `data_start`/`data_end` what the windows used actually cover (a compacted day
    window is taken whole), None without any window. `flag` is the flag whose
    windows the metrics read; `unique_users` counts its users with the feature,
    `users_by_flag` each flag's.
    """

    checkpoint: str
    after: str
    start_minute: int
    end_minute: int
    data_start: int | None
    data_end: int | None
    flag: str | None
    unique_users: int
    users_by_flag: tuple[tuple[str, int], ...]
    kpis: tuple[KpiResult, ...]
    metrics: tuple[MetricValue, ...]
    error_types: tuple[ErrorType, ...]
    questions: tuple[QuestionResult, ...]
    notes: tuple[str, ...] = ()

    def awaiting(self) -> tuple[tuple[str, str | None], ...]:
        """(question, role) of every question still waiting for a person."""
        out: list[tuple[str, str | None]] = []
        for q in self.questions:
            for item in (q, q.follow_up):
                if item is not None and item.status is QuestionStatus.AWAITING:
                    out.append((item.text, item.answered_by))
        return tuple(out)

    def question(self, text: str) -> QuestionResult:
        """The question (or follow-up) with this text; raises CheckpointError."""
        for q in self.questions:
            for item in (q, q.follow_up):
                if item is not None and item.text == text:
                    return item
        raise CheckpointError(
            f"checkpoint {self.checkpoint!r} has no question {text!r}",
            code="question_not_found",
        )

    def with_answer(
        self, text: str, answer: str, person: str, at: dt.datetime
    ) -> CheckpointResult:
        """The result with a person's answer to the question `text`.

        Only questions for people take answers (a query's value is not
        overwritten); raises CheckpointError otherwise. Whether `person` holds the
        question's role is `engine.checkpoints.answer_question`'s check.
        """
        target = self.question(text)
        if target.query is not None:
            raise CheckpointError(
                f"question {text!r} is answered by its query {target.query!r}",
                code="question_answered_by_query",
            )
        questions = []
        for q in self.questions:
            if q.text == text:
                q = q.answered(answer, person, at)
            elif q.follow_up is not None and q.follow_up.text == text:
                q = replace(q, follow_up=q.follow_up.answered(answer, person, at))
            questions.append(q)
        return replace(self, questions=tuple(questions))

    def to_json(self) -> dict[str, Json]:
        return {
            "checkpoint": self.checkpoint,
            "after": self.after,
            "start_minute": self.start_minute,
            "end_minute": self.end_minute,
            "data_start": self.data_start,
            "data_end": self.data_end,
            "flag": self.flag,
            "unique_users": self.unique_users,
            "users_by_flag": [[f, n] for f, n in self.users_by_flag],
            "kpis": [k.to_json() for k in self.kpis],
            "metrics": [m.to_json() for m in self.metrics],
            "error_types": [e.to_json() for e in self.error_types],
            "questions": [q.to_json() for q in self.questions],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> CheckpointResult:
        """The result `to_json` wrote; raises CheckpointError if it is malformed."""
        try:
            return cls(
                checkpoint=_str(doc["checkpoint"]),
                after=_str(doc["after"]),
                start_minute=_int(doc["start_minute"]),
                end_minute=_int(doc["end_minute"]),
                data_start=_opt_int(doc["data_start"]),
                data_end=_opt_int(doc["data_end"]),
                flag=_opt_str(doc["flag"]),
                unique_users=_int(doc["unique_users"]),
                users_by_flag=tuple(
                    (_str(r[0]), _int(r[1]))
                    for r in (_list(x) for x in _list(doc["users_by_flag"]))
                ),
                kpis=tuple(KpiResult.from_json(_map(k)) for k in _list(doc["kpis"])),
                metrics=tuple(
                    MetricValue.from_json(_map(m)) for m in _list(doc["metrics"])
                ),
                error_types=tuple(
                    ErrorType.from_json(_map(e)) for e in _list(doc["error_types"])
                ),
                questions=tuple(
                    QuestionResult.from_json(_map(q)) for q in _list(doc["questions"])
                ),
                notes=tuple(_str(n) for n in _list(doc["notes"])),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CheckpointError(
                f"malformed checkpoint result: {exc}", code="checkpoint_malformed"
            ) from exc


def _map(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _opt_float(value: object) -> float | None:
    return None if value is None else _float(value)
