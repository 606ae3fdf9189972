"""Reading every table out of a database and writing every table into one.

Generic over the tables handed in (flagramp's metadata, in dependency order):
rows are read ordered by primary key and written in batches; a restore deletes
children before parents and inserts parents before children, all on one
connection, inside its caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from sqlalchemy import Connection, Table, delete, func, insert, select, text, update

from flagramp.core.types import Json
from flagramp.store.port import DEFAULT_ENVIRONMENT
from flagramp.store.sql_reads import meta_int
from flagramp.store.tables import environments, store_meta

#: Rows per INSERT batch, and per fetch when reading a table.
BATCH_ROWS = 500
#: The store_meta row every unit of work locks first.
VERSION_KEY = "version"


class RowSource(Protocol):
    """Where a restore's rows come from: a backup file, or a staging database."""

    def rows(self, table: str) -> Iterator[tuple[object, ...]]:
        """Every row of `table`, its values in the table's column order."""
        ...


def table_rows(conn: Connection, table: Table) -> Iterator[tuple[object, ...]]:
    """Every row of `table` as `conn` sees it, ordered by primary key."""
    order = list(table.primary_key.columns) or list(table.columns)
    query = select(*table.columns).order_by(*order)
    result = conn.execution_options(yield_per=BATCH_ROWS).execute(query)
    for row in result:
        yield tuple(row)


@dataclass(frozen=True, slots=True)
class TargetState:
    """What a store held before a restore replaced it."""

    version: int
    audit_head: str
    audit_rows: int
    #: Tables holding rows beyond what a freshly migrated store holds.
    filled: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """True for a store no one has written to (as migrations leave it)."""
        return self.version == 0 and self.audit_rows == 0 and not self.filled

    def summary(self) -> dict[str, Json]:
        """What the restore's audit row says was replaced."""
        return {
            "store_version": self.version,
            "audit_head": self.audit_head,
            "audit_rows": self.audit_rows,
            "tables": [*self.filled],
        }


def lock_target(conn: Connection, tables: Sequence[Table]) -> TargetState:
    """Take the store's write lock (the version row, as every unit of work does
    first) and say what the store holds."""
    conn.execute(
        update(store_meta)
        .where(store_meta.c.key == "version")
        .values(int_value=store_meta.c.int_value + 1)
    )
    version = meta_int(conn, "version") - 1
    head = conn.execute(
        select(store_meta.c.text_value, store_meta.c.int_value).where(
            store_meta.c.key == "audit_head"
        )
    ).one()
    filled = []
    for table in tables:
        if table.name == store_meta.name:
            continue
        query = select(table.c[next(iter(table.columns.keys()))]).limit(1)
        if table.name == environments.name:
            query = query.where(environments.c.name != DEFAULT_ENVIRONMENT)
        if conn.execute(query).first() is not None:
            filled.append(table.name)
    return TargetState(version, str(head[0]), int(head[1] or 0), tuple(filled))


def replace_rows(
    conn: Connection, tables: Sequence[Table], source: RowSource
) -> dict[str, int]:
    """Delete every row of `tables`, then insert the source's; returns the rows
    written per table."""
    for table in reversed(tables):
        if table.name == store_meta.name:
            # The version row is the store's write lock: every writer's first
            # statement updates it. Deleted and inserted again, a writer that
            # waited on it finds (on PostgreSQL) no row to update once the
            # restore commits, and goes on without the lock and with the
            # restore's version as its own. Kept, it is updated in place.
            conn.execute(delete(table).where(store_meta.c.key != VERSION_KEY))
        else:
            conn.execute(delete(table))
    written: dict[str, int] = {}
    for table in tables:
        names = list(table.columns.keys())
        count = 0
        rows = source.rows(table.name)
        while batch := list(islice(rows, BATCH_ROWS)):
            values: list[dict[str, Any]] = [
                dict(zip(names, row, strict=True)) for row in batch
            ]
            if table.name == store_meta.name:
                kept = [v for v in values if v["key"] == VERSION_KEY]
                values = [v for v in values if v["key"] != VERSION_KEY]
                for row in kept:  # set_version moves it on afterwards
                    conn.execute(
                        update(store_meta)
                        .where(store_meta.c.key == VERSION_KEY)
                        .values(**{k: v for k, v in row.items() if k != "key"})
                    )
            if values:
                conn.execute(insert(table), values)
            count += len(batch)
        written[table.name] = count
    return written


def reset_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """After rows were inserted with their own ids, make PostgreSQL's sequences
    hand out ids after them. (SQLite and MySQL/MariaDB move on by themselves.)"""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        top = conn.execute(select(func.max(column))).scalar()
        # setval(…, n, true): the next id is n + 1 (none, if n is the type's
        # largest); setval(…, 1, false): the next id is 1.
        last, called = (top, True) if isinstance(top, int) and top >= 1 else (1, False)
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, :column), :n, :called)"),
            {"table": table.name, "column": column.name, "n": last, "called": called},
        )


def set_version(conn: Connection, version: int) -> None:
    """Set the store version (a restore continues it past both stores')."""
    conn.execute(
        update(store_meta)
        .where(store_meta.c.key == "version")
        .values(int_value=version)
    )
