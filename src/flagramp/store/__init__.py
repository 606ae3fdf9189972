"""The store: one port (`FlagStore`, `UnitOfWork`), several backends, an audit
chain that doubles as the change feed."""

from __future__ import annotations

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
    "MemoryFlagStore",
    "MemoryUnitOfWork",
    "RestoreReport",
    "SqlFlagStore",
    "SqlUnitOfWork",
    "UnitOfWork",
    "backup_directory",
    "before_day",
    "cancel_backup_schedule",
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
