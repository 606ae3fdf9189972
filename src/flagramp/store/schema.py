"""Every table flagramp keeps, for what must handle all of them (backups).

flagramp's tables are the ones its migrations make. Each is described once, on
`flagramp.store.tables.metadata`, by the module that uses it: every module of
this package whose name ends in `tables` (`tables`, `window_tables`,
`backup_tables`, and any added later) is imported here, so a new table module
is covered without a change here. A table described in another layer is on
`metadata` once that layer is imported. `undescribed_tables()` checks: it runs
the migrations on a scratch SQLite database and names every table they make
that `metadata` lacks, so that a backup refuses rather than leaves a table out.
"""

from __future__ import annotations

import importlib
import pkgutil
import tempfile
from functools import cache
from pathlib import Path

from sqlalchemy import Table, inspect

import flagramp.store
from flagramp.store.database import head_revision, migrate_to, open_engine
from flagramp.store.tables import metadata

#: Alembic's own bookkeeping: not flagramp's data, rebuilt by any migration.
ALEMBIC_TABLE = "alembic_version"


def table_modules() -> list[str]:
    """The store's modules that describe tables (`*tables`), imported."""
    names = sorted(
        f"flagramp.store.{found.name}"
        for found in pkgutil.iter_modules(flagramp.store.__path__)
        if found.name.endswith("tables")
    )
    for name in names:
        importlib.import_module(name)
    return names


def flagramp_tables() -> list[Table]:
    """Every table on flagramp's metadata, parents before children."""
    table_modules()
    return list(metadata.sorted_tables)


def undescribed_tables() -> list[str]:
    """Tables flagramp's migrations make that no loaded module describes."""
    described = {table.name for table in flagramp_tables()}
    return sorted(set(migrated_tables(head_revision())) - described)


def unmigrated_tables() -> list[str]:
    """Tables described on the metadata that no migration makes."""
    described = {table.name for table in flagramp_tables()}
    return sorted(described - set(migrated_tables(head_revision())))


@cache
def migrated_tables(revision: str) -> tuple[str, ...]:
    """The tables flagramp's migrations up to `revision` make (on SQLite)."""
    with tempfile.TemporaryDirectory(prefix="flagramp-schema-") as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'schema.db'}", migrate=False)
        try:
            with engine.begin() as conn:
                migrate_to(conn, revision)
            with engine.connect() as conn:
                names = inspect(conn).get_table_names()
        finally:
            engine.dispose()
    return tuple(sorted(name for name in names if name != ALEMBIC_TABLE))
