"""The audit log: every change, hash-chained so that an edit or a cut shows.

Each row's hash covers the previous row's hash and every column of the row as
stored (timestamps and JSON as text), so editing any field, deleting a row in the
middle, or re-ordering rows breaks the chain at that row. The newest hash is also
kept outside the chain (`store_meta.audit_head`), so cutting rows off the end shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, select, update

from flagramp.store.tables import audit_log, store_meta

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: who, when, why, what it was before and after."""

    id: int
    at: str
    actor: str
    reason: str
    environment: str
    entity: str
    action: str
    before: str | None
    after: str | None
    store_version: int
    prev_hash: str
    hash: str

    def content(self) -> dict[str, object]:
        """The columns the hash covers."""
        return {column: getattr(self, column) for column in CONTENT}

    @classmethod
    def from_row(cls, row: RowMapping) -> AuditEntry:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """Where the chain breaks and how."""

    row_id: int | None
    detail: str

    def __str__(self) -> str:
        where = f"audit row {self.row_id}" if self.row_id is not None else "audit log"
        return f"{where}: {self.detail}"


#: The columns a row's hash covers, in this order, after the previous hash.
CONTENT = (
    "at",
    "actor",
    "reason",
    "environment",
    "entity",
    "action",
    "before",
    "after",
    "store_version",
)


def row_hash(prev_hash: str, content: Mapping[str, object]) -> str:
    """The hash of one row's CONTENT columns, chained to the hash before it."""
    payload = json.dumps(
        [prev_hash, *(content[column] for column in CONTENT)],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def append(conn: Connection, content: Mapping[str, object]) -> str:
    """Add a row inside the caller's transaction and move the head; returns the hash.

    The caller must already hold the store's write lock (it bumped the version),
    so reading the head and writing the next row cannot interleave with another
    writer.
    """
    head = conn.execute(
        select(store_meta.c.text_value).where(store_meta.c.key == "audit_head")
    ).scalar_one()
    digest = row_hash(head, content)
    conn.execute(
        audit_log.insert().values(
            **{column: content[column] for column in CONTENT},
            prev_hash=head,
            hash=digest,
        )
    )
    conn.execute(
        update(store_meta)
        .where(store_meta.c.key == "audit_head")
        .values(text_value=digest, int_value=store_meta.c.int_value + 1)
    )
    return digest


def entries(conn: Connection, entity: str | None = None) -> Iterator[AuditEntry]:
    """Rows in the order they were written, optionally for one entity."""
    query = select(audit_log).order_by(audit_log.c.id)
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    for row in conn.execute(query).mappings():
        yield AuditEntry.from_row(row)


def verify(conn: Connection) -> list[AuditProblem]:
    """Every place the chain does not hold; an empty list means it verifies."""
    problems: list[AuditProblem] = []
    expected_prev = GENESIS
    count = 0
    for entry in entries(conn):
        count += 1
        if entry.prev_hash != expected_prev:
            problems.append(
                AuditProblem(
                    entry.id,
                    "does not follow the row before it "
                    "(a row was deleted or re-ordered)",
                )
            )
        recomputed = row_hash(entry.prev_hash, entry.content())
        if recomputed != entry.hash:
            problems.append(AuditProblem(entry.id, "its contents were edited"))
        expected_prev = entry.hash
    head, head_count = conn.execute(
        select(store_meta.c.text_value, store_meta.c.int_value).where(
            store_meta.c.key == "audit_head"
        )
    ).one()
    if head != expected_prev or head_count != count:
        problems.append(
            AuditProblem(
                None,
                f"the newest {head_count} rows end in {head[:12]}…, but the table "
                f"has {count} rows ending in {expected_prev[:12]}… "
                "(rows were cut off the end)",
            )
        )
    return problems
