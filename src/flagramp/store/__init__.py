"""The store: one port (`FlagStore`, `UnitOfWork`), several backends, an audit
chain that doubles as the change feed."""

from __future__ import annotations

import os

from flagramp.core.errors import StoreError
from flagramp.store.audit import AuditEntry, AuditProblem, AuditReport
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.backup_refs import BackupKind, BackupRef
from flagramp.store.backup_schedules import (
    BackupSchedule,
    before_day,
    cancel_backup_schedule,
    due_backups,
    evening_before,
    list_backup_schedules,
    run_due_backups,
    schedule_backup,
)
from flagramp.store.backups import (
    BackupFile,
    RestoreReport,
    backup_directory,
    create_backup,
    environment_snapshots,
    list_backups,
    read_backup,
    restore_backup,
    restore_environment,
)
from flagramp.store.database import database_url, open_engine, upgrade
from flagramp.store.environment_snapshots import (
    EnvironmentRestore,
    snapshot_environment,
    write_back_snapshot,
)
from flagramp.store.flipper import FlipperTablesStore, is_flipper_url
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
    check_shared_users,
)
from flagramp.store.sql_store import SqlFlagStore, SqlUnitOfWork

#: Names the flag store when it is not flagramp's own tables.
FLAG_STORE_VARIABLE = "FLAGRAMP_FLAG_STORE"


def open_store(url: str | None = None) -> SqlFlagStore:
    """flagramp's own tables at `url` or FLAGRAMP_DATABASE_URL (SQLite
    `flagramp.db` by default), migrated on first use."""
    return SqlFlagStore.open(url)


def open_flag_store(
    flag_store: str | None = None, database: str | None = None
) -> SqlFlagStore:
    """The configured flag store: Flipper's tables when `flag_store` (or
    FLAGRAMP_FLAG_STORE) is a `flipper+…` URL, with flagramp's own tables at
    `database` (or FLAGRAMP_DATABASE_URL); else flagramp's own tables alone."""
    chosen = flag_store or os.environ.get(FLAG_STORE_VARIABLE) or ""
    if not chosen:
        return SqlFlagStore.open(database)
    if not is_flipper_url(chosen):
        raise StoreError(
            f"{FLAG_STORE_VARIABLE} must be a flipper+… URL (Flipper's own tables, "
            "e.g. flipper+postgresql+psycopg://host/app), or unset for flagramp's "
            "own tables at FLAGRAMP_DATABASE_URL"
        )
    return FlipperTablesStore.open(chosen, database)


__all__ = [
    "DEFAULT_ENVIRONMENT",
    "FLAG_STORE_VARIABLE",
    "AuditEntry",
    "AuditKeyring",
    "AuditProblem",
    "AuditReport",
    "Author",
    "BackupFile",
    "BackupKind",
    "BackupRef",
    "BackupSchedule",
    "Change",
    "EnvironmentRestore",
    "FlagChange",
    "FlagReader",
    "FlagStore",
    "FlagWriter",
    "FlipperTablesStore",
    "MemoryFlagStore",
    "MemoryUnitOfWork",
    "RestoreReport",
    "SqlFlagStore",
    "SqlUnitOfWork",
    "UnitOfWork",
    "backup_directory",
    "before_day",
    "cancel_backup_schedule",
    "check_shared_users",
    "create_backup",
    "database_url",
    "due_backups",
    "environment_snapshots",
    "evening_before",
    "export_json",
    "import_features_yml",
    "import_flipper",
    "list_backup_schedules",
    "list_backups",
    "open_engine",
    "open_flag_store",
    "open_store",
    "read_backup",
    "read_import_file",
    "restore_backup",
    "restore_environment",
    "run_due_backups",
    "schedule_backup",
    "snapshot_environment",
    "upgrade",
    "write_back_snapshot",
]
