"""The store port: what every flag store offers, whatever holds the rows.

As Flipper has one adapter interface with many stores, flagramp has these
Protocols with several backends (`MemoryFlagStore`, the reference; `SqlFlagStore`
on SQLite, PostgreSQL and MariaDB) and one contract suite that runs on all of
them (`tests/store/contract.py`).

Every write happens in a **unit of work**: one transaction, one store version.
All rows it writes (flags, segments, audit rows, and rows of later layers' tables
on SQL) carry that version and commit together or not at all. A unit that writes
nothing commits nothing and uses up no version. The audit rows are also the
**change feed**: `changes_since(v)` returns what every version after `v` changed,
in order (version, then audit row).

Backends implement a handful of primitives (`store/reading.py`,
`store/writing.py`: read, write and delete one entity's document, append an
audit row); the rules, the audit path and the feed's paging are written once. A
backend on tables that hold only part of a flag (Flipper's `flipper_features` and
`flipper_gates` hold no deny list, eligibility or environment) keeps the whole
document in flagramp's tables and writes its part to the other tables through an
outbox (`store/flipper/`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from flagramp.core.errors import SharedUsersUnsupported
from flagramp.core.flags import Flag, Segment
from flagramp.core.types import Json
from flagramp.store.audit import AuditEntry, AuditReport

DEFAULT_ENVIRONMENT = "production"

#: How many changes `changes_since` returns unless told otherwise.
CHANGES_LIMIT = 1_000

#: A pure change to a flag: the flag as it is in, the flag as it should be out.
FlagChange = Callable[[Flag], Flag]


@dataclass(frozen=True, slots=True)
class Author:
    """Who makes a change and why; both go into the audit log."""

    who: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change feed: what one audit row says changed.

    `before`/`after` are the entity's documents (None: it did not exist / was
    deleted). `position` is the audit row's id: changes are ordered by
    (`version`, `position`).
    """

    version: int
    position: int
    environment: str
    kind: str
    key: str
    action: str
    before: Json
    after: Json
    who: str
    why: str
    at: dt.datetime


class FlagReader(Protocol):
    """Reads: the committed store, or, inside a unit of work, what it will commit."""

    def version(self) -> int:
        """The store version: one more for every unit of work that wrote."""
        ...

    def environments(self) -> list[str]:
        """Environment names, sorted."""
        ...

    def get_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag | None:
        """The flag, or None if there is none by that key."""
        ...

    def require_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag:
        """The flag; raises FlagNotFound."""
        ...

    def list_flags(self, environment: str = DEFAULT_ENVIRONMENT) -> list[Flag]:
        """Every flag of an environment, by key."""
        ...

    def segments(self, environment: str = DEFAULT_ENVIRONMENT) -> dict[str, Segment]:
        """The environment's segments by name."""
        ...

    def history(
        self, key: str, environment: str = DEFAULT_ENVIRONMENT
    ) -> list[AuditEntry]:
        """The audit rows of one flag, oldest first."""
        ...

    def audit_entries(self) -> list[AuditEntry]:
        """Every audit row, oldest first."""
        ...

    def changes_since(
        self,
        version: int,
        *,
        environment: str | None = None,
        limit: int = CHANGES_LIMIT,
    ) -> list[Change]:
        """Changes of the versions after `version`, oldest first.

        Whole versions only, at most `limit` changes; a single version with more
        than `limit` changes comes alone and whole, so a consumer that resumes
        from the last version it saw never misses part of one.
        """
        ...


class FlagWriter(Protocol):
    """Writes, as a unit of work offers them. Each one audits what it changed."""

    def create_flag(self, flag: Flag, environment: str = DEFAULT_ENVIRONMENT) -> Flag:
        """Add a flag (its environment too, if new); an existing flag is kept as
        it is and returned, as Flipper's `add` does."""
        ...

    def change_flag(
        self,
        key: str,
        change: FlagChange,
        environment: str = DEFAULT_ENVIRONMENT,
        action: str = "update",
    ) -> Flag:
        """Apply a pure change; raises FlagNotFound. A change that leaves the flag
        as it was writes nothing."""
        ...

    def delete_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> None:
        """Remove a flag; raises FlagNotFound."""
        ...

    def put_flags(
        self,
        incoming: Iterable[Flag],
        environment: str = DEFAULT_ENVIRONMENT,
        *,
        remove_missing: bool = False,
    ) -> int:
        """Create or replace many flags; returns how many changed.
        `remove_missing` deletes flags not in `incoming` (Flipper's full sync)."""
        ...

    def put_segment(
        self, segment: Segment, environment: str = DEFAULT_ENVIRONMENT
    ) -> Segment:
        """Create or replace a segment."""
        ...

    def delete_segment(self, name: str, environment: str = DEFAULT_ENVIRONMENT) -> None:
        """Remove a segment; raises SegmentNotFound, or SegmentInUse while a flag
        is limited to it."""
        ...

    def record(
        self,
        environment: str,
        kind: str,
        key: str,
        action: str,
        before: Json,
        after: Json,
    ) -> None:
        """Audit a change to something that is not a flag or segment (a run's
        transition, say); it joins the change feed like any other row."""
        ...


class UnitOfWork(FlagReader, FlagWriter, Protocol):
    """One transaction: reads see its own writes; everything commits at once.

    `write_version` is the store version every row it writes carries, if it
    commits; `version()` says `write_version` once it has written.
    """

    author: Author
    write_version: int


class FlagStore(FlagReader, Protocol):
    """A flag store: reads, units of work, and one-write conveniences."""

    def unit_of_work(self, author: Author) -> AbstractContextManager[UnitOfWork]:
        """A unit of work that commits when the block ends without an exception,
        if it wrote anything; it rolls everything back otherwise."""
        ...

    def verify_audit(self) -> AuditReport:
        """Check the audit chain and replay it against the stored flags and
        segments, in one snapshot."""
        ...

    def can_share_users(self, environment: str = DEFAULT_ENVIRONMENT) -> bool:
        """Whether flags of `environment` may bucket actors on another flag's key
        (a plan's `shared_users`). False on Flipper's tables: Ruby Flipper
        buckets every flag on its own name."""
        ...

    def create_flag(
        self, flag: Flag, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> Flag:
        """`UnitOfWork.create_flag` in a unit of work of its own."""
        ...

    def change_flag(
        self,
        key: str,
        change: FlagChange,
        author: Author,
        environment: str = DEFAULT_ENVIRONMENT,
        action: str = "update",
    ) -> Flag:
        """`UnitOfWork.change_flag` in a unit of work of its own."""
        ...

    def delete_flag(
        self, key: str, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> None:
        """`UnitOfWork.delete_flag` in a unit of work of its own."""
        ...

    def put_flags(
        self,
        incoming: Iterable[Flag],
        author: Author,
        environment: str = DEFAULT_ENVIRONMENT,
        *,
        remove_missing: bool = False,
    ) -> int:
        """`UnitOfWork.put_flags` in a unit of work of its own."""
        ...

    def put_segment(
        self, segment: Segment, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> Segment:
        """`UnitOfWork.put_segment` in a unit of work of its own."""
        ...

    def delete_segment(
        self, name: str, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> None:
        """`UnitOfWork.delete_segment` in a unit of work of its own."""
        ...


def check_shared_users(
    store: FlagStore, flags: Sequence[str], environment: str = DEFAULT_ENVIRONMENT
) -> None:
    """Raise SharedUsersUnsupported if `flags` (two or more, bucketing on the
    first one's key) cannot share their users in this store and environment."""
    if len(flags) > 1 and not store.can_share_users(environment):
        raise SharedUsersUnsupported(list(flags), environment)
