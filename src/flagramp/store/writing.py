"""The unit of work's writes, written once for every backend.

Rules live here, below the shells: names are checked (`store/rules.py`), a flag
may be limited only to a segment that exists, a segment in use cannot be deleted,
a change that changes nothing writes nothing. Every write appends one audit row
through the one audit path (`_audit`), sealed with the keyring's signing key.
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Iterable

from flagramp.core.clock import Clock
from flagramp.core.errors import (
    SegmentInUse,
    SegmentNotFound,
    StoreError,
)
from flagramp.core.flags import Flag, Segment
from flagramp.core.identifiers import (
    check_action,
    check_entity_key,
    check_entity_kind,
    check_environment,
)
from flagramp.core.types import Json
from flagramp.store.audit import keyed_hash
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.documents import canonical, flag_document, segment_document
from flagramp.store.port import DEFAULT_ENVIRONMENT, Author, FlagChange
from flagramp.store.reading import FLAG, SEGMENT, DocumentReader
from flagramp.store.rules import check_flag, check_segment


class WritingUnit(DocumentReader):
    """FlagWriter over a backend's primitives; `written` says whether to commit."""

    def __init__(
        self, author: Author, write_version: int, clock: Clock, keyring: AuditKeyring
    ) -> None:
        self.author = author
        self.write_version = write_version
        self.written = False
        self._clock = clock
        self._keyring = keyring
        self._signing: tuple[str, bytes] | None = None

    def version(self) -> int:
        return self.write_version if self.written else self.write_version - 1

    # --- primitives ------------------------------------------------------------

    @abstractmethod
    def _put_document(
        self, kind: str, environment: str, key: str, document: str | None
    ) -> None:
        """Create, replace or (None) delete one entity's stored document."""

    @abstractmethod
    def _ensure_environment(self, environment: str, stamp: str) -> None:
        """Add the environment if it is new."""

    @abstractmethod
    def _audit_head(self) -> str:
        """The hash of the newest audit row (as this unit sees it)."""

    @abstractmethod
    def _insert_audit(self, row: dict[str, object]) -> None:
        """Append a sealed audit row and move the head to it."""

    # --- writes ------------------------------------------------------------------

    def create_flag(self, flag: Flag, environment: str = DEFAULT_ENVIRONMENT) -> Flag:
        check_environment(environment)
        check_flag(flag)
        existing = self.get_flag(flag.key, environment)
        if existing is not None:
            return existing
        self._save_flag(environment, None, flag, "create")
        return flag

    def change_flag(
        self,
        key: str,
        change: FlagChange,
        environment: str = DEFAULT_ENVIRONMENT,
        action: str = "update",
    ) -> Flag:
        check_action(action)
        before = self.require_flag(key, environment)
        after = change(before)
        if after.key != key:
            raise StoreError(f"a change may not rename flag {key!r} to {after.key!r}")
        check_flag(after)
        if after == before:
            return before
        self._save_flag(environment, before, after, action)
        return after

    def delete_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> None:
        before = self.require_flag(key, environment)
        self._put_document(FLAG, environment, key, None)
        self._audit(environment, FLAG, key, "delete", _flag_text(before), None)

    def put_flags(
        self,
        incoming: Iterable[Flag],
        environment: str = DEFAULT_ENVIRONMENT,
        *,
        remove_missing: bool = False,
    ) -> int:
        check_environment(environment)
        changed = 0
        seen: set[str] = set()
        for flag in incoming:
            check_flag(flag)
            seen.add(flag.key)
            before = self.get_flag(flag.key, environment)
            if before == flag:
                continue
            action = "import" if before is not None else "create"
            self._save_flag(environment, before, flag, action)
            changed += 1
        if remove_missing:
            for stale in self.list_flags(environment):
                if stale.key not in seen:
                    self.delete_flag(stale.key, environment)
                    changed += 1
        return changed

    def put_segment(
        self, segment: Segment, environment: str = DEFAULT_ENVIRONMENT
    ) -> Segment:
        check_environment(environment)
        check_segment(segment)
        old = self._document(SEGMENT, environment, segment.name)
        new = canonical(segment_document(segment))
        if old == new:
            return segment
        self._ensure_environment(environment, self._stamp())
        self._put_document(SEGMENT, environment, segment.name, new)
        action = "create" if old is None else "update"
        before = old if isinstance(old, str) else None
        self._audit(environment, SEGMENT, segment.name, action, before, new)
        return segment

    def delete_segment(self, name: str, environment: str = DEFAULT_ENVIRONMENT) -> None:
        old = self._document(SEGMENT, environment, name)
        if old is None:
            raise SegmentNotFound(name, environment)
        users = [f.key for f in self.list_flags(environment) if f.eligibility == name]
        if users:
            raise SegmentInUse(name, environment, users)
        self._put_document(SEGMENT, environment, name, None)
        before = old if isinstance(old, str) else None
        self._audit(environment, SEGMENT, name, "delete", before, None)

    def record(
        self,
        environment: str,
        kind: str,
        key: str,
        action: str,
        before: Json,
        after: Json,
    ) -> None:
        check_environment(environment)
        check_entity_kind(kind)
        check_entity_key(key)
        check_action(action)
        if kind in (FLAG, SEGMENT):
            raise StoreError(
                f"{kind}s are audited by their own writes, not by record()"
            )
        self._ensure_environment(environment, self._stamp())
        self._audit(
            environment,
            kind,
            key,
            action,
            None if before is None else canonical(before),
            None if after is None else canonical(after),
        )

    # --- internals -----------------------------------------------------------------

    def _save_flag(
        self, environment: str, before: Flag | None, after: Flag, action: str
    ) -> None:
        segment = after.eligibility
        if (
            segment is not None
            and segment != (before.eligibility if before else None)
            and self._document(SEGMENT, environment, segment) is None
        ):
            raise SegmentNotFound(segment, environment)
        self._ensure_environment(environment, self._stamp())
        new = _flag_text(after)
        self._put_document(FLAG, environment, after.key, new)
        old = None if before is None else _flag_text(before)
        self._audit(environment, FLAG, after.key, action, old, new)

    def _audit(
        self,
        environment: str,
        kind: str,
        key: str,
        action: str,
        before: str | None,
        after: str | None,
    ) -> None:
        self.written = True
        if self._signing is None:
            self._signing = self._keyring.signing_key()
        key_id, secret = self._signing
        content: dict[str, object] = {
            "at": self._stamp(),
            "actor": self.author.who,
            "reason": self.author.why,
            "environment": environment,
            "entity_kind": kind,
            "entity_key": key,
            "action": action,
            "before": before,
            "after": after,
            "store_version": self.write_version,
        }
        prev_hash = self._audit_head()
        digest = keyed_hash(secret, key_id, prev_hash, content)
        self._insert_audit(
            {**content, "key_id": key_id, "prev_hash": prev_hash, "hash": digest}
        )

    def _stamp(self) -> str:
        return self._clock.now().astimezone(dt.UTC).isoformat(timespec="microseconds")


def _flag_text(flag: Flag) -> str:
    return canonical(flag_document(flag))
