"""Plan runs in the store: the run row, its event log, plan versions, incidents.

Writes take an `SqlUnitOfWork` and go through `unit.execute`, so that a run's
transition commits with its flag changes, audit rows and outbox rows or not at
all. Reads take a `Connection`: `unit.connection` inside a unit of work (it sees
what the unit wrote), or a plain connection (`RunReader`) outside one. The state
is the engine's JSON; this layer keeps it as canonical text and never reads it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import StoreError
from flagramp.core.types import Json
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import begin_write
from flagramp.store.documents import canonical, load_document
from flagramp.store.run_tables import run_events, run_incidents, run_plan_versions, runs
from flagramp.store.sql_store import SqlUnitOfWork

_RUN_NUMBER = re.compile(r"R([0-9]{1,9})")


class RunNotFound(StoreError, KeyError):
    """No run has this id."""

    code = "run_not_found"

    def __init__(self, run: str) -> None:
        self.run = run
        super().__init__(f"no run {run!r}")

    def __str__(self) -> str:  # KeyError would quote the message
        return f"no run {self.run!r}"


class RunVersionMoved(StoreError):
    """The run's row is not at the version the writer read: someone moved it."""

    code = "run_version_moved"

    def __init__(self, run: str, expected: int, found: int | None) -> None:
        self.run, self.expected, self.found = run, expected, found
        super().__init__(
            f"run {run!r} is at version {found}, not {expected}: another writer "
            "moved it"
        )


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run as stored: the plan it runs, where it is, and its version."""

    id: str
    plan_name: str
    environment: str
    plan_text: str
    plan_hash: str
    plan_version: int
    status: str
    state: dict[str, Json]
    observe: bool
    version: int
    watched_version: int
    created_by: str
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One entry of a run's log."""

    run: str
    seq: int
    at: str
    kind: str
    actor: str | None
    data: dict[str, Json]
    store_version: int

    def to_json(self) -> dict[str, Json]:
        """The entry as `run log --json` prints it."""
        return {
            "run": self.run,
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "actor": self.actor,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One adopted version of a run's plan."""

    run: str
    version: int
    text: str
    hash: str
    diff: str
    adopted_by: str | None
    at: str


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """An incident's whole record, as last written."""

    run: str
    incident: str
    record: dict[str, Json]
    updated_at: str


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event to append: the repository numbers it."""

    kind: str
    actor: str | None
    data: Mapping[str, Json]


def stamp(at: dt.datetime) -> str:
    """A time as the run tables keep it: ISO 8601 in UTC, microseconds."""
    if at.tzinfo is None:
        raise StoreError("run times must carry their time zone (UTC)")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


# --- writes (inside a unit of work) ----------------------------------------------


def next_run_id(conn: Connection) -> str:
    """The next free `R<n>` id (writers are serialised by the unit of work)."""
    found = conn.execute(select(runs.c.id).where(runs.c.id.like("R%"))).scalars()
    numbers = [int(m.group(1)) for i in found if (m := _RUN_NUMBER.fullmatch(i))]
    return f"R{max(numbers, default=0) + 1}"


def create_run(
    unit: SqlUnitOfWork,
    *,
    run: str,
    plan_name: str,
    environment: str,
    plan_text: str,
    plan_hash: str,
    status: str,
    state: Mapping[str, Json],
    observe: bool,
    at: dt.datetime,
    created_by: str,
) -> RunRow:
    """Insert a run at version 0 with plan version 1; raises StoreError if the
    id is taken."""
    if load_run(unit.connection, run, missing_ok=True) is not None:
        raise StoreError(f"a run {run!r} exists already")
    when = stamp(at)
    values: dict[str, Any] = {
        "id": run,
        "plan_name": plan_name,
        "environment": environment,
        "plan_text": plan_text,
        "plan_hash": plan_hash,
        "plan_version": 1,
        "status": status,
        "state": canonical(dict(state)),
        "observe": observe,
        "version": 0,
        "watched_version": unit.write_version,
        "created_by": created_by,
        "created_at": when,
        "updated_at": when,
    }
    unit.execute(insert(runs).values(values))
    unit.execute(
        insert(run_plan_versions).values(
            run=run,
            version=1,
            text=plan_text,
            hash=plan_hash,
            diff="",
            adopted_by=created_by,
            at=when,
        )
    )
    return _run_row(values)


def move_run(
    unit: SqlUnitOfWork,
    run: str,
    *,
    expected_version: int,
    status: str,
    state: Mapping[str, Json],
    at: dt.datetime,
    watched_version: int | None = None,
) -> int:
    """Write the run's new state if its row is still at `expected_version`;
    returns the new version. Raises RunVersionMoved (nothing is changed) when
    another writer got there first, RunNotFound for an unknown run."""
    values: dict[str, Any] = {
        "status": status,
        "state": canonical(dict(state)),
        "version": expected_version + 1,
        "updated_at": stamp(at),
    }
    if watched_version is not None:
        values["watched_version"] = watched_version
    moved = unit.execute(
        update(runs)
        .where(runs.c.id == run, runs.c.version == expected_version)
        .values(values)
    )
    if moved.rowcount != 1:
        found = unit.connection.execute(
            select(runs.c.version).where(runs.c.id == run)
        ).scalar()
        if found is None:
            raise RunNotFound(run)
        raise RunVersionMoved(run, expected_version, found)
    return expected_version + 1


@dataclass(frozen=True, slots=True)
class ObservedState:
    """What a controller tick that moved nothing still keeps of a run: the
    state with what the next tick needs (its looks), and the store version up
    to which outside changes were looked for."""

    run: str
    version: int
    """The run's version the tick read: written only if the row is still at it."""
    state: Mapping[str, Json]
    watched_version: int


def save_observed(engine: Engine, observed: Sequence[ObservedState]) -> list[str]:
    """Write each run's state and watched version in one transaction, without
    a new version (no transition happened: no event, no audit row). A run whose
    row moved since (a person's command) is left as that command wrote it.
    Returns those runs, not written; raises StoreError (nothing written)."""
    moved: list[str] = []
    if not observed:
        return moved
    try:
        with begin_write(engine) as conn:
            for item in observed:
                done = conn.execute(
                    update(runs)
                    .where(runs.c.id == item.run, runs.c.version == item.version)
                    .values(
                        state=canonical(dict(item.state)),
                        watched_version=item.watched_version,
                    )
                )
                if done.rowcount == 0:
                    moved.append(item.run)
    except SQLAlchemyError as exc:
        raise StoreError(f"run states not saved: {short_reason(exc)}") from exc
    return moved


def append_events(
    unit: SqlUnitOfWork, run: str, at: dt.datetime, drafts: Sequence[EventDraft]
) -> list[int]:
    """Append events with the next sequence numbers; returns them."""
    if not drafts:
        return []
    last = unit.connection.execute(
        select(func.max(run_events.c.seq)).where(run_events.c.run == run)
    ).scalar()
    first = (last or 0) + 1
    when = stamp(at)
    rows: list[dict[str, Any]] = [
        {
            "run": run,
            "seq": first + offset,
            "at": when,
            "kind": draft.kind,
            "actor": draft.actor,
            "data": canonical(dict(draft.data)),
            "store_version": unit.write_version,
        }
        for offset, draft in enumerate(drafts)
    ]
    unit.execute(insert(run_events).values(rows))
    return [int(row["seq"]) for row in rows]


def put_incident(
    unit: SqlUnitOfWork,
    run: str,
    incident: str,
    record: Mapping[str, Json],
    at: dt.datetime,
) -> None:
    """Insert or replace one incident's record."""
    document = canonical(dict(record))
    when = stamp(at)
    where = (run_incidents.c.run == run, run_incidents.c.incident == incident)
    exists = unit.connection.execute(
        select(run_incidents.c.incident).where(*where)
    ).first()
    if exists is None:
        unit.execute(
            insert(run_incidents).values(
                run=run, incident=incident, record=document, updated_at=when
            )
        )
    else:
        unit.execute(
            update(run_incidents).where(*where).values(record=document, updated_at=when)
        )


def add_plan_version(
    unit: SqlUnitOfWork,
    run: str,
    *,
    text: str,
    plan_hash: str,
    diff: str,
    adopted_by: str | None,
    at: dt.datetime,
) -> int:
    """Record a new version of the run's plan; returns its number. The run
    runs it once adopted (`adopt_plan_version`, when the machine says so)."""
    last = unit.connection.execute(
        select(func.max(run_plan_versions.c.version)).where(
            run_plan_versions.c.run == run
        )
    ).scalar()
    version = (last or 0) + 1
    unit.execute(
        insert(run_plan_versions).values(
            run=run,
            version=version,
            text=text,
            hash=plan_hash,
            diff=diff,
            adopted_by=adopted_by,
            at=stamp(at),
        )
    )
    return version


def adopt_plan_version(unit: SqlUnitOfWork, run: str, version: int) -> None:
    """Make a recorded plan version the one the run runs (its row's text and
    hash); raises StoreError if the run has no such version."""
    found = unit.connection.execute(
        select(run_plan_versions.c.text, run_plan_versions.c.hash).where(
            run_plan_versions.c.run == run, run_plan_versions.c.version == version
        )
    ).first()
    if found is None:
        raise StoreError(f"run {run!r} has no plan version {version}")
    unit.execute(
        update(runs)
        .where(runs.c.id == run)
        .values(plan_text=found.text, plan_hash=found.hash, plan_version=version)
    )


# --- reads (any connection) ------------------------------------------------------


def load_run(conn: Connection, run: str, *, missing_ok: bool = False) -> RunRow | None:
    """The run's row; None (with `missing_ok`) or RunNotFound if unknown."""
    row = conn.execute(select(runs).where(runs.c.id == run)).mappings().first()
    if row is None:
        if missing_ok:
            return None
        raise RunNotFound(run)
    return _run_row(dict(row))


def require_run(conn: Connection, run: str) -> RunRow:
    """The run's row; raises RunNotFound."""
    found = load_run(conn, run)
    assert found is not None
    return found


def list_runs(
    conn: Connection, *, statuses: Sequence[str] | None = None
) -> list[RunRow]:
    """Runs in creation order, only those in `statuses` when given."""
    query = select(runs).order_by(runs.c.created_at, runs.c.id)
    if statuses is not None:
        query = query.where(runs.c.status.in_(list(statuses)))
    return [_run_row(dict(row)) for row in conn.execute(query).mappings()]


def events(
    conn: Connection, run: str, *, since: int = 0, limit: int | None = None
) -> list[RunEvent]:
    """The run's events with `seq > since`, oldest first."""
    query = (
        select(run_events)
        .where(run_events.c.run == run, run_events.c.seq > since)
        .order_by(run_events.c.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        RunEvent(
            run=row.run,
            seq=row.seq,
            at=row.at,
            kind=row.kind,
            actor=row.actor,
            data=_object(row.data, f"run {run} event {row.seq}"),
            store_version=row.store_version,
        )
        for row in conn.execute(query)
    ]


def own_store_versions(conn: Connection, run: str, *, after: int) -> set[int]:
    """The store versions after `after` in which the run itself wrote."""
    found = conn.execute(
        select(run_events.c.store_version)
        .where(run_events.c.run == run, run_events.c.store_version > after)
        .distinct()
    ).scalars()
    return set(found)


def incidents(conn: Connection, run: str) -> list[IncidentRow]:
    """The run's incidents in id order (`I1`, `I2`, ..., `I10`)."""
    found = [
        IncidentRow(
            run=row.run,
            incident=row.incident,
            record=_object(row.record, f"run {run} incident {row.incident}"),
            updated_at=row.updated_at,
        )
        for row in conn.execute(select(run_incidents).where(run_incidents.c.run == run))
    ]
    return sorted(found, key=lambda i: (len(i.incident), i.incident))


def plan_versions(conn: Connection, run: str) -> list[PlanVersion]:
    """Every adopted version of the run's plan, oldest first."""
    query = (
        select(run_plan_versions)
        .where(run_plan_versions.c.run == run)
        .order_by(run_plan_versions.c.version)
    )
    return [
        PlanVersion(
            run=row.run,
            version=row.version,
            text=row.text,
            hash=row.hash,
            diff=row.diff,
            adopted_by=row.adopted_by,
            at=row.at,
        )
        for row in conn.execute(query)
    ]


class RunReader:
    """The reads above, each on a connection of its own (outside a unit of work)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        with reading(self.engine, "runs") as conn:
            yield conn

    def load(self, run: str) -> RunRow:
        """The run's row; raises RunNotFound."""
        with self._conn() as conn:
            return require_run(conn, run)

    def runs(self, *, statuses: Sequence[str] | None = None) -> list[RunRow]:
        """Runs in creation order."""
        with self._conn() as conn:
            return list_runs(conn, statuses=statuses)

    def events(self, run: str, *, since: int = 0) -> list[RunEvent]:
        """The run's events after `since`."""
        with self._conn() as conn:
            require_run(conn, run)
            return events(conn, run, since=since)

    def incidents(self, run: str) -> list[IncidentRow]:
        """The run's incidents."""
        with self._conn() as conn:
            require_run(conn, run)
            return incidents(conn, run)

    def plan_versions(self, run: str) -> list[PlanVersion]:
        """The run's plan versions."""
        with self._conn() as conn:
            require_run(conn, run)
            return plan_versions(conn, run)


def _object(stored: object, what: str) -> dict[str, Json]:
    loaded = load_document(stored, what)
    if not isinstance(loaded, dict):
        raise StoreError(f"{what}: the stored document is not a JSON object")
    return loaded


def _run_row(row: Mapping[str, Any]) -> RunRow:
    return RunRow(
        id=row["id"],
        plan_name=row["plan_name"],
        environment=row["environment"],
        plan_text=row["plan_text"],
        plan_hash=row["plan_hash"],
        plan_version=int(row["plan_version"]),
        status=row["status"],
        state=_object(row["state"], f"run {row['id']} state"),
        observe=bool(row["observe"]),
        version=int(row["version"]),
        watched_version=int(row["watched_version"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
