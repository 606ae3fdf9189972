"""Reads on one SQL connection: the store's reads and its unit of work's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Select, and_, select

from flagramp.core.errors import StoreError
from flagramp.store.audit import AuditEntry
from flagramp.store.port import CHANGES_LIMIT, Change
from flagramp.store.reading import (
    FLAG,
    SEGMENT,
    DocumentReader,
    change_from_entry,
    check_limit,
    entry_or_damage,
)
from flagramp.store.tables import audit_log, environments, flags, segments, store_meta


class SqlReader(DocumentReader):
    """FlagReader over a connection (inside a transaction or not)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def version(self) -> int:
        return meta_int(self.conn, "version")

    def environments(self) -> list[str]:
        query = select(environments.c.name).order_by(environments.c.name)
        return list(self.conn.execute(query).scalars())

    def _document(self, kind: str, environment: str, key: str) -> object | None:
        column, name = columns(kind)
        table = column.table
        return self.conn.execute(
            select(column).where(table.c.environment == environment, name == key)
        ).scalar()

    def _documents(self, kind: str, environment: str) -> list[tuple[str, object]]:
        column, name = columns(kind)
        query = (
            select(name, column)
            .where(column.table.c.environment == environment)
            .order_by(name)
        )
        return [(row[0], row[1]) for row in self.conn.execute(query)]

    def _entries(
        self, kind: str | None, environment: str | None, key: str | None
    ) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.id)
        if kind is not None:
            query = query.where(audit_log.c.entity_kind == kind)
        if environment is not None:
            query = query.where(audit_log.c.environment == environment)
        if key is not None:
            query = query.where(audit_log.c.entity_key == key)
        return [entry_or_damage(row) for row in self.conn.execute(query).mappings()]

    def changes_since(
        self,
        version: int,
        *,
        environment: str | None = None,
        limit: int = CHANGES_LIMIT,
    ) -> list[Change]:
        check_limit(limit)
        t = audit_log.c
        after = t.store_version > version
        if environment is not None:
            after = and_(t.environment == environment, after)
        # The version of the first row past the limit: everything before that
        # version fits. Both reads are ranges of an index on (environment,)
        # store_version, id.
        cut = self.conn.execute(
            select(t.store_version)
            .where(after)
            .order_by(t.store_version, t.id)
            .offset(limit)
            .limit(1)
        ).scalar()
        query: Select[tuple[object, ...]] = select(audit_log).where(after)
        if cut is not None:
            query = query.where(t.store_version < cut)
        rows = self._changes(query)
        if not rows and cut is not None:
            # The first version alone holds more than `limit` rows: all of it.
            rows = self._changes(select(audit_log).where(after, t.store_version == cut))
        return rows

    def _changes(self, query: Select[tuple[object, ...]]) -> list[Change]:
        query = query.order_by(audit_log.c.store_version, audit_log.c.id)
        return [
            change_from_entry(entry_or_damage(row))
            for row in self.conn.execute(query).mappings()
        ]


def meta_int(conn: Connection, key: str) -> int:
    """An integer of `store_meta` (`version`, the audit row count)."""
    value = conn.execute(
        select(store_meta.c.int_value).where(store_meta.c.key == key)
    ).scalar_one()
    if not isinstance(value, int):
        raise StoreError(f"store_meta {key!r} is damaged")
    return value


def columns(kind: str) -> tuple[Column[Any], Column[Any]]:
    if kind == FLAG:
        return flags.c.state, flags.c.key
    if kind == SEGMENT:
        return segments.c.definition, segments.c.name
    raise StoreError(f"the store holds no documents of kind {kind!r}")
