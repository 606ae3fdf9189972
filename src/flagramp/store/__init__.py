"""The store: one port (`FlagStore`, `UnitOfWork`), several backends, an audit
chain that doubles as the change feed."""

from __future__ import annotations

from flagramp.store.audit import AuditEntry, AuditProblem, AuditReport
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.database import database_url, open_engine, upgrade
from flagramp.store.interchange import (
    export_json,
    import_features_yml,
    import_flipper,
    read_import_file,
)
from flagramp.store.memory_store import MemoryFlagStore, MemoryUnitOfWork
from flagramp.store.port import (
    DEFAULT_ENVIRONMENT,
    Author,
    Change,
    FlagChange,
    FlagReader,
    FlagStore,
    FlagWriter,
    UnitOfWork,
)
from flagramp.store.sql_store import SqlFlagStore, SqlUnitOfWork


def open_store(url: str | None = None) -> SqlFlagStore:
    """The configured store: flagramp's tables at `url` or FLAGRAMP_DATABASE_URL
    (SQLite `flagramp.db` by default), migrated on first use."""
    return SqlFlagStore.open(url)


__all__ = [
    "DEFAULT_ENVIRONMENT",
    "AuditEntry",
    "AuditKeyring",
    "AuditProblem",
    "AuditReport",
    "Author",
    "Change",
    "FlagChange",
    "FlagReader",
    "FlagStore",
    "FlagWriter",
    "MemoryFlagStore",
    "MemoryUnitOfWork",
    "SqlFlagStore",
    "SqlUnitOfWork",
    "UnitOfWork",
    "database_url",
    "export_json",
    "import_features_yml",
    "import_flipper",
    "open_engine",
    "open_store",
    "read_import_file",
    "upgrade",
]
