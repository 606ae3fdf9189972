"""The flag store: flags and segments per environment, every write audited.

Every write is one transaction that (1) bumps the store version, which also takes
the write lock, (2) changes the rows, (3) appends an audit row chained to the last.
A failure anywhere rolls all three back: nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.clock import Clock, SystemClock
from flagramp.core.errors import FlagNotFound, FlagrampError, StoreError
from flagramp.core.flags import Flag, Segment
from flagramp.store import audit
from flagramp.store.audit import AuditEntry, AuditProblem
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import open_engine
from flagramp.store.documents import (
    canonical,
    flag_document,
    flag_from_document,
    segment_document,
    segment_from_document,
)
from flagramp.store.tables import environments, flags, segments, store_meta

DEFAULT_ENVIRONMENT = "production"

FlagChange = Callable[[Flag], Flag]


@dataclass(frozen=True, slots=True)
class Author:
    """Who makes a change and why; both go into the audit log."""

    who: str
    why: str = ""


class _NothingToDo(Exception):
    """Raised inside a write to roll it back when nothing would change."""

    def __init__(self, result: object) -> None:
        self.result = result


P = ParamSpec("P")
R = TypeVar("R")


def _idempotent(method: Callable[P, R]) -> Callable[P, R]:
    """A write that finds nothing to change rolls back its version bump and
    returns what is already there."""

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except _NothingToDo as done:
            return done.result  # type: ignore[return-value]

    return run


class FlagStore:
    """Flags, segments and environments in a SQL database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()

    @classmethod
    def open(cls, url: str | None = None, clock: Clock | None = None) -> FlagStore:
        """Open (and migrate on first use) the store at `url`."""
        return cls(open_engine(url), clock)

    # --- reads ---------------------------------------------------------------

    def version(self) -> int:
        """The store version: it goes up by one with every write."""
        with reading(self.engine, "the store") as conn:
            return int(
                conn.execute(
                    select(store_meta.c.int_value).where(store_meta.c.key == "version")
                ).scalar_one()
            )

    def environments(self) -> list[str]:
        """Environment names, sorted."""
        with reading(self.engine, "the store") as conn:
            query = select(environments.c.name).order_by(environments.c.name)
            return list(conn.execute(query).scalars())

    def get_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag | None:
        """The flag, or None if there is none by that key."""
        with reading(self.engine, "the store") as conn:
            return self._load_flag(conn, environment, key)

    def require_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag:
        """The flag; raises FlagNotFound."""
        flag = self.get_flag(key, environment)
        if flag is None:
            raise FlagNotFound(key, environment)
        return flag

    def list_flags(self, environment: str = DEFAULT_ENVIRONMENT) -> list[Flag]:
        """Every flag of an environment, by key."""
        with reading(self.engine, "the store") as conn:
            query = (
                select(flags.c.state)
                .where(flags.c.environment == environment)
                .order_by(flags.c.key)
            )
            return [
                flag_from_document(json.loads(s)) for s in conn.execute(query).scalars()
            ]

    def segments(self, environment: str = DEFAULT_ENVIRONMENT) -> dict[str, Segment]:
        """The environment's segments by name."""
        with reading(self.engine, "the store") as conn:
            query = select(segments.c.definition).where(
                segments.c.environment == environment
            )
            found = (
                segment_from_document(json.loads(d))
                for d in conn.execute(query).scalars()
            )
            return {s.name: s for s in found}

    def history(
        self, key: str, environment: str = DEFAULT_ENVIRONMENT
    ) -> list[AuditEntry]:
        """The audit rows of one flag, oldest first."""
        with reading(self.engine, "the store") as conn:
            return list(audit.entries(conn, _flag_entity(environment, key)))

    def audit_entries(self) -> list[AuditEntry]:
        """Every audit row, oldest first."""
        with reading(self.engine, "the store") as conn:
            return list(audit.entries(conn))

    def verify_audit(self) -> list[AuditProblem]:
        """Where the audit chain is broken; empty when it verifies."""
        with reading(self.engine, "the store") as conn:
            return audit.verify(conn)

    # --- writes --------------------------------------------------------------

    @_idempotent
    def create_flag(
        self, flag: Flag, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> Flag:
        """Add a flag (its environment too, if new); an existing flag is kept as is,
        as Flipper's `add` does."""
        with self._write() as (conn, version):
            self._ensure_environment(conn, environment)
            existing = self._load_flag(conn, environment, flag.key)
            if existing is not None:
                raise _NothingToDo(existing)
            self._save_flag(conn, environment, None, flag, version, author, "create")
            return flag

    @_idempotent
    def change_flag(
        self,
        key: str,
        change: FlagChange,
        author: Author,
        environment: str = DEFAULT_ENVIRONMENT,
        action: str = "update",
    ) -> Flag:
        """Apply a pure change to a flag; raises FlagNotFound. A change that leaves
        the flag as it was writes nothing and bumps no version."""
        with self._write() as (conn, version):
            before = self._load_flag(conn, environment, key)
            if before is None:
                raise FlagNotFound(key, environment)
            after = change(before)
            if after == before:
                raise _NothingToDo(before)
            self._save_flag(conn, environment, before, after, version, author, action)
            return after

    def delete_flag(
        self, key: str, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> None:
        """Remove a flag and its gate values; raises FlagNotFound."""
        with self._write() as (conn, version):
            before = self._load_flag(conn, environment, key)
            if before is None:
                raise FlagNotFound(key, environment)
            self._delete_flag(conn, environment, before, version, author)

    @_idempotent
    def put_flags(
        self,
        incoming: Iterable[Flag],
        author: Author,
        environment: str = DEFAULT_ENVIRONMENT,
        *,
        remove_missing: bool = False,
    ) -> int:
        """Create or replace many flags in one transaction (imports); returns how
        many changed. `remove_missing` deletes flags not in `incoming`, which is
        Flipper's full-sync import."""
        changed = 0
        with self._write() as (conn, version):
            self._ensure_environment(conn, environment)
            seen: set[str] = set()
            for flag in incoming:
                seen.add(flag.key)
                before = self._load_flag(conn, environment, flag.key)
                if before == flag:
                    continue
                action = "import" if before is not None else "create"
                self._save_flag(
                    conn, environment, before, flag, version, author, action
                )
                changed += 1
            if remove_missing:
                for stale in self._all_keys(conn, environment) - seen:
                    before = self._load_flag(conn, environment, stale)
                    assert before is not None
                    self._delete_flag(conn, environment, before, version, author)
                    changed += 1
            if changed == 0:
                raise _NothingToDo(0)
        return changed

    @_idempotent
    def put_segment(
        self, segment: Segment, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> Segment:
        """Create or replace a segment."""
        with self._write() as (conn, version):
            self._ensure_environment(conn, environment)
            entity = f"{environment}/segment/{segment.name}"
            where = (
                segments.c.environment == environment,
                segments.c.name == segment.name,
            )
            old = conn.execute(select(segments.c.definition).where(*where)).scalar()
            new = canonical(segment_document(segment))
            if old == new:
                raise _NothingToDo(segment)
            stamp = self._stamp()
            if old is None:
                conn.execute(
                    insert(segments).values(
                        environment=environment,
                        name=segment.name,
                        definition=new,
                        version=version,
                        updated_at=stamp,
                    )
                )
            else:
                conn.execute(
                    update(segments)
                    .where(*where)
                    .values(definition=new, version=version, updated_at=stamp)
                )
            self._audit(
                conn,
                author,
                environment,
                entity,
                "create" if old is None else "update",
                old,
                new,
                version,
            )
            return segment

    # --- internals -----------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[tuple[Connection, int]]:
        try:
            with self.engine.begin() as conn:
                version = self._bump_version(conn)
                yield conn, version
        except (_NothingToDo, FlagrampError):
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"nothing was written: {short_reason(exc)}") from exc

    def _bump_version(self, conn: Connection) -> int:
        # The UPDATE comes first in every write: it takes the row lock (PostgreSQL)
        # or the write lock (SQLite), serialising writers before anything is read.
        conn.execute(
            update(store_meta)
            .where(store_meta.c.key == "version")
            .values(int_value=store_meta.c.int_value + 1)
        )
        return int(
            conn.execute(
                select(store_meta.c.int_value).where(store_meta.c.key == "version")
            ).scalar_one()
        )

    def _stamp(self) -> str:
        return self.clock.now().astimezone(dt.UTC).isoformat(timespec="microseconds")

    def _ensure_environment(self, conn: Connection, environment: str) -> None:
        if not environment or len(environment) > 64:
            raise StoreError(f"invalid environment name {environment!r}")
        exists = conn.execute(
            select(environments.c.name).where(environments.c.name == environment)
        ).scalar()
        if exists is None:
            conn.execute(
                insert(environments).values(name=environment, created_at=self._stamp())
            )

    def _all_keys(self, conn: Connection, environment: str) -> set[str]:
        query = select(flags.c.key).where(flags.c.environment == environment)
        return set(conn.execute(query).scalars())

    def _load_flag(self, conn: Connection, environment: str, key: str) -> Flag | None:
        state = conn.execute(
            select(flags.c.state).where(
                flags.c.environment == environment, flags.c.key == key
            )
        ).scalar()
        return None if state is None else flag_from_document(json.loads(state))

    def _save_flag(
        self,
        conn: Connection,
        environment: str,
        before: Flag | None,
        after: Flag,
        version: int,
        author: Author,
        action: str,
    ) -> None:
        new = canonical(flag_document(after))
        stamp = self._stamp()
        if before is None:
            conn.execute(
                insert(flags).values(
                    environment=environment,
                    key=after.key,
                    state=new,
                    version=version,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
        else:
            conn.execute(
                update(flags)
                .where(flags.c.environment == environment, flags.c.key == after.key)
                .values(state=new, version=version, updated_at=stamp)
            )
        old = None if before is None else canonical(flag_document(before))
        self._audit(
            conn,
            author,
            environment,
            _flag_entity(environment, after.key),
            action,
            old,
            new,
            version,
        )

    def _delete_flag(
        self,
        conn: Connection,
        environment: str,
        before: Flag,
        version: int,
        author: Author,
    ) -> None:
        conn.execute(
            delete(flags).where(
                flags.c.environment == environment, flags.c.key == before.key
            )
        )
        self._audit(
            conn,
            author,
            environment,
            _flag_entity(environment, before.key),
            "delete",
            canonical(flag_document(before)),
            None,
            version,
        )

    def _audit(
        self,
        conn: Connection,
        author: Author,
        environment: str,
        entity: str,
        action: str,
        before: str | None,
        after: str | None,
        version: int,
    ) -> None:
        audit.append(
            conn,
            {
                "at": self._stamp(),
                "actor": author.who,
                "reason": author.why,
                "environment": environment,
                "entity": entity,
                "action": action,
                "before": before,
                "after": after,
                "store_version": version,
            },
        )


def _flag_entity(environment: str, key: str) -> str:
    return f"{environment}/flag/{key}"
