"""What the dashboard's run pages need of the engine: a small port.

`engine.service.RunService` (list, show, log, command) satisfies it as it is;
the shapes below are read-only views of its `RunRow`, `RunView`, `RunEvent`
and `IncidentRow` (the last two are the reports' own, `reports.stored`), so
the dashboard depends on no more than it reads. Until the server builds a
RunService itself, `create_app(runs=...)` takes one (the tests give a small
fake).

Errors the pages expect: a `KeyError` (the store's `RunNotFound`) for an
unknown run, an `EngineError` (`CommandRefused`, `RunConflict`) for a command
the run does not take; both are shown to the person, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from flagramp.core.types import Json
from flagramp.engine.commands import Command
from flagramp.reports.stored import StoredEvent, StoredIncident


class RunSummary(Protocol):
    """One run's row."""

    @property
    def id(self) -> str: ...
    @property
    def plan_name(self) -> str: ...
    @property
    def plan_text(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def state(self) -> Mapping[str, Json]: ...
    @property
    def observe(self) -> bool: ...
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...


#: One incident of a run (its id and whole record) and one event of a run's
#: append-only log: the shapes reports read of the same rows, so one definition
#: serves both.
RunIncident = StoredIncident
RunLogEntry = StoredEvent


class RunDetail(Protocol):
    """Where a run is, what it waits for, its last evaluation, its incidents."""

    @property
    def row(self) -> RunSummary: ...
    @property
    def waiting_for(self) -> str | None: ...
    @property
    def phase(self) -> str | None: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def last_evaluation(self) -> Mapping[str, Json] | None: ...
    @property
    def incidents(self) -> Sequence[RunIncident]: ...


class RunsPort(Protocol):
    """Runs as the dashboard reads and commands them (RunService's shape)."""

    def list(self, statuses: Sequence[str] | None = None) -> Sequence[RunSummary]:
        """Every run, oldest first."""
        ...

    def show(self, run: str) -> RunDetail:
        """One run; raises KeyError when there is none."""
        ...

    def row(self, run: str) -> RunSummary:
        """The run's row only (cheap); raises KeyError when there is none."""
        ...

    def log(self, run: str, since: int = 0) -> Sequence[RunLogEntry]:
        """The run's events after `since`."""
        ...

    def command(self, run: str, cmd: Command) -> object:
        """Apply a person's command; raises EngineError when refused."""
        ...
