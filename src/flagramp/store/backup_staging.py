"""Where a restore's rows come from: the backup itself, or, for a backup made at
an older schema revision, a staging database migrated after the load.

Rationale: the target of a restore is always at the newest schema (it is opened,
and so migrated, like any store), and MySQL/MariaDB cannot roll back a schema
change. So an older backup is loaded into a scratch SQLite database at its own
revision, that database is migrated to the newest (the migrations transform the
rows as they would have in place), and the target receives the rows in one data
transaction, as from a backup of the newest revision.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, delete, insert

from flagramp.core.errors import BackupDamaged, BackupError
from flagramp.store.backup_codec import TableSpec
from flagramp.store.backup_file import BackupReader
from flagramp.store.backup_load import BATCH_ROWS, RowSource, table_rows
from flagramp.store.database import (
    begin_write,
    head_revision,
    migrate_to,
    open_engine,
    upgrade,
)
from flagramp.store.schema import ALEMBIC_TABLE, flagramp_tables, migrated_tables


@contextmanager
def rows_at_head(reader: BackupReader) -> Iterator[RowSource]:
    """The backup's rows as flagramp's newest schema holds them."""
    manifest = reader.manifest
    if manifest.schema_revision == head_revision():
        _check_tables(reader)
        yield reader
        return
    with tempfile.TemporaryDirectory(prefix="flagramp-restore-") as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'staged.db'}", migrate=False)
        try:
            with begin_write(engine) as conn:
                migrate_to(conn, manifest.schema_revision)
                _load_as_made(conn, reader)
            upgrade(engine)
            with engine.connect() as conn:
                yield _StagedRows(conn)
        finally:
            engine.dispose()


class _StagedRows:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._tables = {table.name: table for table in flagramp_tables()}

    def rows(self, table: str) -> Iterator[tuple[object, ...]]:
        return table_rows(self._conn, self._tables[table])


def _check_tables(reader: BackupReader) -> None:
    """A backup at the newest revision holds exactly flagramp's tables, each with
    the columns this flagramp describes."""
    manifest = reader.manifest
    tables = flagramp_tables()
    names = {table.name for table in tables}
    extra = sorted({entry.spec.name for entry in manifest.tables} - names)
    if extra:
        raise BackupDamaged(
            reader.source,
            f"it holds table(s) {', '.join(extra)}, which schema revision "
            f"{manifest.schema_revision} does not have",
        )
    for table in tables:
        entry = manifest.table(table.name)
        if entry is None:
            raise BackupDamaged(reader.source, f"table {table.name} is missing from it")
        if entry.spec != TableSpec.of(table):
            raise BackupError(
                f"{reader.source}: table {table.name} has columns "
                f"{_columns(entry.spec)}, but flagramp at the same schema revision "
                f"describes {_columns(TableSpec.of(table))}"
            )


def _load_as_made(conn: Connection, reader: BackupReader) -> None:
    manifest = reader.manifest
    expected = set(migrated_tables(manifest.schema_revision))
    held = {entry.spec.name for entry in manifest.tables}
    if held != expected:
        raise BackupDamaged(
            reader.source,
            f"its tables are not the ones schema revision {manifest.schema_revision} "
            "has",
        )
    reflected = MetaData()
    reflected.reflect(conn)
    # The migrations seed rows (the version, the default environment); the
    # backup's rows take their place.
    for table in reversed(reflected.sorted_tables):
        if table.name != ALEMBIC_TABLE:
            conn.execute(delete(table))
    for entry in manifest.tables:
        table = reflected.tables[entry.spec.name]
        names = entry.spec.column_names()
        if set(names) != set(table.columns.keys()):
            raise BackupDamaged(
                reader.source,
                f"table {table.name} does not have the columns schema revision "
                f"{manifest.schema_revision} gives it",
            )
        rows = reader.rows(table.name)
        while batch := list(islice(rows, BATCH_ROWS)):
            values: list[dict[str, Any]] = [
                dict(zip(names, row, strict=True)) for row in batch
            ]
            conn.execute(insert(table), values)


def _columns(spec: TableSpec) -> str:
    return ", ".join(f"{c.name} {c.kind.value}" for c in spec.columns)
