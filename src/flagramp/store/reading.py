"""Reads every backend shares, written once over a few primitives.

A backend's reader says how to fetch stored documents and audit rows; the flag
and segment reads, and the change feed's rules (whole versions only, oldest
first), are the same for all of them.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from flagramp.core.errors import FlagNotFound, StoreError
from flagramp.core.flags import Flag, Segment
from flagramp.core.types import Json
from flagramp.store.audit import AuditEntry, DamagedRow
from flagramp.store.documents import (
    flag_from_document,
    load_document,
    segment_from_document,
)
from flagramp.store.port import CHANGES_LIMIT, DEFAULT_ENVIRONMENT, Change

FLAG = "flag"
SEGMENT = "segment"


class DocumentReader(ABC):
    """The FlagReader methods, over a backend's primitives."""

    # --- primitives ------------------------------------------------------------

    @abstractmethod
    def version(self) -> int: ...

    @abstractmethod
    def environments(self) -> list[str]: ...

    @abstractmethod
    def _document(self, kind: str, environment: str, key: str) -> object | None:
        """The stored document text of one entity (as read), or None."""

    @abstractmethod
    def _documents(self, kind: str, environment: str) -> list[tuple[str, object]]:
        """(key, stored document) of every entity of a kind, by key."""

    @abstractmethod
    def _entries(
        self, kind: str | None, environment: str | None, key: str | None
    ) -> list[AuditEntry]:
        """Audit rows, oldest first; None means any."""

    @abstractmethod
    def changes_since(
        self,
        version: int,
        *,
        environment: str | None = None,
        limit: int = CHANGES_LIMIT,
    ) -> list[Change]: ...

    # --- reads -------------------------------------------------------------------

    def get_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag | None:
        stored = self._document(FLAG, environment, key)
        if stored is None:
            return None
        return _flag(stored, key, environment)

    def require_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag:
        flag = self.get_flag(key, environment)
        if flag is None:
            raise FlagNotFound(key, environment)
        return flag

    def list_flags(self, environment: str = DEFAULT_ENVIRONMENT) -> list[Flag]:
        return [
            _flag(stored, key, environment)
            for key, stored in self._documents(FLAG, environment)
        ]

    def segments(self, environment: str = DEFAULT_ENVIRONMENT) -> dict[str, Segment]:
        found: dict[str, Segment] = {}
        for name, stored in self._documents(SEGMENT, environment):
            what = f"segment {name!r} in {environment!r}"
            found[name] = segment_from_document(load_document(stored, what))
        return found

    def history(
        self, key: str, environment: str = DEFAULT_ENVIRONMENT
    ) -> list[AuditEntry]:
        return self._entries(FLAG, environment, key)

    def audit_entries(self) -> list[AuditEntry]:
        return self._entries(None, None, None)


def _flag(stored: object, key: str, environment: str) -> Flag:
    return flag_from_document(load_document(stored, f"flag {key!r} in {environment!r}"))


def check_limit(limit: int) -> None:
    """A change-feed limit is a positive number."""
    if limit < 1:
        raise StoreError(f"a change-feed limit must be at least 1, not {limit}")


def whole_versions(entries: Sequence[AuditEntry], limit: int) -> list[AuditEntry]:
    """The longest prefix of `entries` (ordered by version, id) that ends at a
    version boundary and holds at most `limit` rows; the first version whole if
    it alone holds more."""
    if len(entries) <= limit:
        return list(entries)
    cut = entries[limit].store_version
    kept = [e for e in entries[:limit] if e.store_version < cut]
    if kept:
        return kept
    return [e for e in entries if e.store_version == cut]


def change_from_entry(entry: AuditEntry) -> Change:
    """The change-feed view of one audit row."""
    where = f"audit row {entry.id}"
    return Change(
        version=entry.store_version,
        position=entry.id,
        environment=entry.environment,
        kind=entry.entity_kind,
        key=entry.entity_key,
        action=entry.action,
        before=_optional_document(entry.before, where),
        after=_optional_document(entry.after, where),
        who=entry.actor,
        why=entry.reason,
        at=dt.datetime.fromisoformat(entry.at),
    )


def _optional_document(text: str | None, where: str) -> Json:
    return None if text is None else load_document(text, where)


def entry_or_damage(row: Mapping[Any, object]) -> AuditEntry:
    """An audit row read outside verification: a damaged one is a StoreError."""
    try:
        return AuditEntry.from_row(row)
    except DamagedRow as damaged:
        raise StoreError(f"audit row {row.get('id')!r}: {damaged}") from damaged
