"""The in-memory flag store: the reference backend the contract suite holds the
others to, and the store tests and the simulator use.

Committed state is an immutable snapshot that readers take without a lock. A
unit of work holds the write lock (writers are serialised, as on SQL), stages
its changes copy-on-write, and on commit swaps in a new snapshot; a failure or a
unit that wrote nothing drops the staging. The audit chain and the change feed
are the same as on SQL.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from flagramp.core.clock import Clock, SystemClock
from flagramp.core.errors import StoreError
from flagramp.store.audit import GENESIS, AuditEntry, AuditReport
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.port import CHANGES_LIMIT, DEFAULT_ENVIRONMENT, Author, Change
from flagramp.store.reading import (
    DocumentReader,
    change_from_entry,
    check_limit,
    whole_versions,
)
from flagramp.store.rules import check_author_fields
from flagramp.store.single_writes import SingleWrites
from flagramp.store.verification import StoredEntity, verify
from flagramp.store.writing import WritingUnit

Documents = dict[tuple[str, str], dict[str, str]]  # (kind, environment) -> key -> doc


@dataclass(frozen=True)
class _Snapshot:
    version: int = 0
    environments: MappingProxyType[str, str] = field(
        default_factory=lambda: MappingProxyType({DEFAULT_ENVIRONMENT: ""})
    )
    documents: Documents = field(default_factory=dict)
    #: The audit list is shared and append-only; a snapshot sees its first rows.
    audit_rows: int = 0
    head: str = GENESIS


class MemoryReader(DocumentReader):
    """FlagReader over one committed snapshot."""

    def __init__(self, snapshot: _Snapshot, audit: list[AuditEntry]) -> None:
        self._snapshot = snapshot
        self._audit_list = audit

    def version(self) -> int:
        return self._snapshot.version

    def environments(self) -> list[str]:
        return sorted(self._snapshot.environments)

    def _document(self, kind: str, environment: str, key: str) -> object | None:
        return self._snapshot.documents.get((kind, environment), {}).get(key)

    def _documents(self, kind: str, environment: str) -> list[tuple[str, object]]:
        return sorted(self._snapshot.documents.get((kind, environment), {}).items())

    def _rows(self) -> list[AuditEntry]:
        return self._audit_list[: self._snapshot.audit_rows]

    def _entries(
        self, kind: str | None, environment: str | None, key: str | None
    ) -> list[AuditEntry]:
        return [
            e
            for e in self._rows()
            if (kind is None or e.entity_kind == kind)
            and (environment is None or e.environment == environment)
            and (key is None or e.entity_key == key)
        ]

    def changes_since(
        self,
        version: int,
        *,
        environment: str | None = None,
        limit: int = CHANGES_LIMIT,
    ) -> list[Change]:
        check_limit(limit)
        rows = self._rows()
        start = bisect.bisect_right(rows, version, key=lambda e: e.store_version)
        after = [
            e
            for e in rows[start:]
            if environment is None or e.environment == environment
        ]
        return [change_from_entry(e) for e in whole_versions(after, limit)]


class MemoryUnitOfWork(WritingUnit, MemoryReader):
    """A unit of work staging its writes until the store commits them."""

    def __init__(
        self,
        snapshot: _Snapshot,
        audit: list[AuditEntry],
        author: Author,
        clock: Clock,
        keyring: AuditKeyring,
    ) -> None:
        MemoryReader.__init__(self, snapshot, audit)
        WritingUnit.__init__(self, author, snapshot.version + 1, clock, keyring)
        self._staged: Documents = {}
        self._new_environments: dict[str, str] = {}
        self._new_rows: list[AuditEntry] = []
        self._head = snapshot.head

    def environments(self) -> list[str]:
        return sorted({*self._snapshot.environments, *self._new_environments})

    def _table(self, kind: str, environment: str) -> dict[str, str]:
        staged = self._staged.get((kind, environment))
        if staged is None:
            return self._snapshot.documents.get((kind, environment), {})
        return staged

    def _document(self, kind: str, environment: str, key: str) -> object | None:
        return self._table(kind, environment).get(key)

    def _documents(self, kind: str, environment: str) -> list[tuple[str, object]]:
        return sorted(self._table(kind, environment).items())

    def _rows(self) -> list[AuditEntry]:
        return [*super()._rows(), *self._new_rows]

    def _put_document(
        self, kind: str, environment: str, key: str, document: str | None
    ) -> None:
        self.written = True
        table = self._staged.get((kind, environment))
        if table is None:
            table = dict(self._snapshot.documents.get((kind, environment), {}))
            self._staged[(kind, environment)] = table
        if document is None:
            table.pop(key, None)
        else:
            table[key] = document

    def _ensure_environment(self, environment: str, stamp: str) -> None:
        if environment not in self._snapshot.environments:
            self._new_environments.setdefault(environment, stamp)

    def _audit_head(self) -> str:
        return self._head

    def _insert_audit(self, row: dict[str, object]) -> None:
        row_id = self._snapshot.audit_rows + len(self._new_rows) + 1
        self._new_rows.append(AuditEntry.from_row({**row, "id": row_id}))
        self._head = str(row["hash"])

    def committed(self) -> _Snapshot:
        """The snapshot this unit leaves (its rows appended to the audit list)."""
        self._audit_list.extend(self._new_rows)
        return replace(
            self._snapshot,
            version=self.write_version,
            environments=MappingProxyType(
                {**self._snapshot.environments, **self._new_environments}
            ),
            documents={**self._snapshot.documents, **self._staged},
            audit_rows=self._snapshot.audit_rows + len(self._new_rows),
            head=self._head,
        )


class MemoryFlagStore(SingleWrites, MemoryReader):
    """Flags, segments, environments and the audit log in memory."""

    def __init__(
        self, clock: Clock | None = None, keyring: AuditKeyring | None = None
    ) -> None:
        MemoryReader.__init__(self, _Snapshot(), [])
        self.clock: Clock = clock or SystemClock()
        self.keyring = keyring or AuditKeyring.generate()
        self._lock = threading.Lock()
        self._writer: int | None = None

    @contextmanager
    def unit_of_work(self, author: Author) -> Iterator[MemoryUnitOfWork]:
        check_author_fields(author)
        if self._writer == threading.get_ident():
            raise StoreError("a unit of work is already open in this thread")
        with self._lock:
            self._writer = threading.get_ident()
            try:
                unit = MemoryUnitOfWork(
                    self._snapshot, self._audit_list, author, self.clock, self.keyring
                )
                yield unit
                if unit.written:
                    self._snapshot = unit.committed()
            finally:
                self._writer = None

    def verify_audit(self) -> AuditReport:
        snapshot = self._snapshot
        rows = [
            {name: getattr(e, name) for name in AuditEntry.__slots__}
            for e in self._audit_list[: snapshot.audit_rows]
        ]
        stored = [
            StoredEntity(kind, environment, key, document)
            for (kind, environment), table in snapshot.documents.items()
            for key, document in table.items()
        ]
        return verify(rows, (snapshot.head, snapshot.audit_rows), stored, self.keyring)
