"""The audit log: every change, chained and keyed so that an edit or a cut shows.

Each row's hash is an HMAC-SHA256, under a key kept outside the database
(`store/audit_keys.py`), of the previous row's hash, the key's id and every
content column of the row as stored (timestamps and JSON as text). Editing any
field, deleting a row in the middle or re-ordering rows breaks the chain at that
row, and without the key nobody can recompute it. The newest hash and the row
count are also kept outside the chain (`store_meta.audit_head`), so cutting rows
off the end shows.

Rows written before the chain was keyed (no `key_id`) carry a plain SHA-256 over
their content with the entity as one `environment/kind/key` string, as they were
written; they can only come first, and verification says that they could have
been rewritten.

This module is pure: both backends append and verify through it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

#: The columns a keyed row's hash covers, in this order, after the previous hash
#: and the key id. Do not change: every stored hash depends on it.
CONTENT = (
    "at",
    "actor",
    "reason",
    "environment",
    "entity_kind",
    "entity_key",
    "action",
    "before",
    "after",
    "store_version",
)

_TEXT = ("at", "actor", "reason", "environment", "entity_kind", "entity_key")
_TEXT_REQUIRED = (*_TEXT, "action", "prev_hash", "hash")
_TEXT_OPTIONAL = ("before", "after", "key_id")
_INTEGERS = ("id", "store_version")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row: who, when, why, what it was before and after."""

    id: int
    at: str
    actor: str
    reason: str
    environment: str
    entity_kind: str
    entity_key: str
    action: str
    before: str | None
    after: str | None
    store_version: int
    key_id: str | None
    prev_hash: str
    hash: str

    def content(self) -> dict[str, object]:
        """The columns the hash covers."""
        return {column: getattr(self, column) for column in CONTENT}

    @classmethod
    def from_row(cls, row: Mapping[Any, object]) -> AuditEntry:
        """Read a stored row; raises DamagedRow if a column holds a value of the
        wrong type (a binary value put into a text column, say)."""
        for name in _INTEGERS:
            value = row.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise DamagedRow(name, value)
        for name in _TEXT_REQUIRED:
            if not isinstance(row.get(name), str):
                raise DamagedRow(name, row.get(name))
        for name in _TEXT_OPTIONAL:
            value = row.get(name)
            if value is not None and not isinstance(value, str):
                raise DamagedRow(name, value)
        return cls(**{name: row[name] for name in cls.__slots__})  # type: ignore[arg-type]


class DamagedRow(Exception):
    """A stored column holds something flagramp never writes there."""

    def __init__(self, column: str, value: object) -> None:
        self.column = column
        if isinstance(value, bytes | bytearray | memoryview):
            what = "binary data, not text"
        elif value is None:
            what = "no value"
        else:
            what = f"a {type(value).__name__} value"
        super().__init__(f"column {column} holds {what}")


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """Where the log or the stored state does not hold, and how."""

    row_id: int | None
    detail: str
    #: What the problem is about when it is not one audit row (`flag 'x' in …`).
    subject: str | None = None

    def __str__(self) -> str:
        if self.row_id is not None:
            return f"audit row {self.row_id}: {self.detail}"
        return f"{self.subject or 'audit log'}: {self.detail}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What `verify_audit` found: problems, and what it could not check."""

    rows: int
    head: str
    problems: tuple[AuditProblem, ...]
    #: What this verification cannot detect (a key that is not configured here,
    #: rows written before the chain was keyed), in plain words.
    limits: tuple[str, ...]
    #: Ids of the keys the rows are signed with, oldest first.
    key_ids: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found (read `limits` for what was not checked)."""
        return not self.problems


def keyed_hash(
    key: bytes, key_id: str, prev_hash: str, content: Mapping[Any, object]
) -> str:
    """The HMAC of one row's CONTENT, chained to the hash before it."""
    payload = json.dumps(
        [prev_hash, key_id, *(content[column] for column in CONTENT)],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def legacy_hash(prev_hash: str, content: Mapping[Any, object]) -> str:
    """The unkeyed hash rows had before the chain was keyed (migration 0003)."""
    entity = (
        f"{content['environment']}/{content['entity_kind']}/{content['entity_key']}"
    )
    payload = json.dumps(
        [
            prev_hash,
            content["at"],
            content["actor"],
            content["reason"],
            content["environment"],
            entity,
            content["action"],
            content["before"],
            content["after"],
            content["store_version"],
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
