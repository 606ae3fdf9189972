"""A `RunRecord` from the rows a run store keeps (`store.runs.RunReader`).

The protocols below are the fields reports read of the store's rows; the run
store's `RunRow`, `RunEvent` and `IncidentRow` have them, and so does anything
shaped like them, so reports depend on no engine type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from flagramp.core.errors import ReportError
from flagramp.core.types import Json
from flagramp.reports.run_record import RunEvent, RunRecord


class StoredRun(Protocol):
    """A run's row."""

    @property
    def id(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def plan_text(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def state(self) -> Mapping[str, Json]: ...
    @property
    def created_at(self) -> str: ...


class StoredEvent(Protocol):
    """One row of a run's log."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def data(self) -> Mapping[str, Json]: ...


class StoredIncident(Protocol):
    """One incident row."""

    @property
    def incident(self) -> str: ...
    @property
    def record(self) -> Mapping[str, Json]: ...


class RunSource(Protocol):
    """Where runs are read from: `store.runs.RunReader`."""

    def load(self, run: str) -> StoredRun: ...
    def events(self, run: str, *, since: int = 0) -> Sequence[StoredEvent]: ...
    def incidents(self, run: str) -> Sequence[StoredIncident]: ...


def read_record(source: RunSource, run: str) -> RunRecord:
    """The run's record as reports take it."""
    row = source.load(run)
    return RunRecord(
        run=row.id,
        plan_text=row.plan_text,
        plan_file=f"{row.id}.yaml",
        environment=row.environment,
        status=row.status,
        created_at=parse_time(row.created_at),
        events=tuple(
            RunEvent(e.seq, parse_time(e.at), e.kind, e.actor, dict(e.data))
            for e in source.events(run)
        ),
        incidents={i.incident: dict(i.record) for i in source.incidents(run)},
        state=dict(row.state),
    )


def parse_time(text: str) -> dt.datetime:
    """A stored ISO time; a time without a zone is UTC (as the store writes)."""
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ReportError("run record", f"{text!r} is not an ISO time") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
