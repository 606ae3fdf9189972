"""Backups: the whole store in a file, portable between SQLite, PostgreSQL and
MariaDB, and snapshots of one environment for promotions.

- `create_backup(store, label=…, author=…)` reads every flagramp table in one
  snapshot of the database (so writers running meanwhile never split it) and
  writes a file (`store/backup_file.py`). It writes nothing to the store: a
  backup runs from a read-only account or a machine without the audit key, and
  never puts a row signed with a stray key into the chain. With `environment=`,
  it takes an environment snapshot instead (`store/environment_snapshots.py`),
  which is a change like any other, audited.
- `restore_backup(store, path, author=…)` loads a file into a store: refused if
  the store is not empty (unless `force`), if the file is damaged, if the audit
  keys its rows need are not configured, or if the loaded rows do not verify as
  they did when it was made; otherwise one transaction replaces every table,
  then appends the restore's own audit row. A backup from an older schema is
  migrated after the load (`store/backup_staging.py`).

Across a restore the audit log is the backup's, whole and verifying, and the
restore's row chains to its head. The store version becomes one more than the
larger of the backup's and the replaced store's, so that a reader resuming the
change feed from a version it saw (on either) sees the restore's row; a `backup`
change with action `restore` means "reload everything".
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import (
    BackupDamaged,
    BackupError,
    BackupKeyMissing,
    BackupRevisionUnknown,
    BackupUnverified,
    FlagrampError,
    StoreError,
    TablesNotDescribed,
    TargetNotEmpty,
)
from flagramp.core.identifiers import check_text
from flagramp.core.types import Json
from flagramp.store.audit import AuditReport
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.backup_codec import TableSpec
from flagramp.store.backup_file import BackupReader, BackupWriter, Manifest
from flagramp.store.backup_load import (
    TargetState,
    lock_target,
    replace_rows,
    reset_sequences,
    set_version,
    table_rows,
)
from flagramp.store.backup_refs import BACKUP_KIND, BackupKind, BackupRef, iso
from flagramp.store.backup_refs import new_backup_id as _new_id
from flagramp.store.backup_staging import rows_at_head
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import begin_write, head_revision, is_known_revision
from flagramp.store.database import snapshot as read_snapshot
from flagramp.store.environment_snapshots import (
    EnvironmentRestore,
    list_snapshots,
    snapshot_environment,
    write_back_snapshot,
)
from flagramp.store.epochs import new_epoch, set_epoch
from flagramp.store.port import DEFAULT_ENVIRONMENT, Author
from flagramp.store.rules import check_author_fields
from flagramp.store.schema import (
    flagramp_tables,
    undescribed_tables,
    unmigrated_tables,
)
from flagramp.store.sql_reads import meta_int
from flagramp.store.sql_store import SqlFlagStore, SqlUnitOfWork, verify_connection

BACKUP_DIR_ENV = "FLAGRAMP_BACKUP_DIR"
SUFFIX = ".zip"


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a full restore did."""

    backup: BackupRef
    #: What the store held before (None: it was empty).
    replaced: TargetState | None
    #: The schema revision the backup was made at, if it was migrated after loading.
    migrated_from: str | None
    #: The restored audit log as verified before the restore's row was added.
    audit: AuditReport
    #: The store version of the restore's audit row.
    version: int


@dataclass(frozen=True, slots=True)
class BackupFile:
    """A file in the backup directory: its backup, or why it is not one."""

    path: Path
    ref: BackupRef | None
    problem: str | None = None


def backup_directory(database_url: str) -> Path:
    """Where backups of the database at `database_url` go by default:
    `FLAGRAMP_BACKUP_DIR`; next to a SQLite file (`flagramp.db.backups/`); else
    `$XDG_DATA_HOME/flagramp/backups` (`~/.local/share/…`)."""
    explicit = os.environ.get(BACKUP_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    ):
        return Path(f"{url.database}.backups")
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "flagramp" / "backups"


def create_backup(
    store: SqlFlagStore,
    *,
    label: str,
    author: Author,
    environment: str | None = None,
    out: Path | None = None,
    directory: Path | None = None,
) -> BackupRef:
    """A full backup to a file (`out`, or a new file in `directory`, by default
    `backup_directory`); or, with `environment`, a snapshot of that
    environment's flags and segments, kept in the store and audited."""
    if environment is not None:
        with store.unit_of_work(author) as unit:
            return snapshot_environment(unit, environment, label, now=store.clock.now())
    return write_backup(store, label=label, author=author, out=out, directory=directory)


def restore_environment(
    store: SqlFlagStore, snapshot: BackupRef | str, *, author: Author
) -> EnvironmentRestore:
    """Write an environment snapshot back as new, audited changes (one unit of
    work): its flags and segments end equal to the snapshot, the history in
    between stays. Raises SnapshotNotFound, or BackupDamaged if the snapshot
    was edited since it was taken."""
    snapshot_id = snapshot if isinstance(snapshot, str) else snapshot.id
    if not author.why:
        author = Author(author.who, f"restore of environment snapshot {snapshot_id}")
    with store.unit_of_work(author) as unit:
        return write_back_snapshot(unit, snapshot_id)


def environment_snapshots(
    store: SqlFlagStore, environment: str | None = None
) -> list[BackupRef]:
    """The environment snapshots in the store, oldest first."""
    with reading(store.engine, "environment snapshots") as conn:
        return list_snapshots(conn, environment)


def write_backup(
    store: SqlFlagStore,
    *,
    label: str,
    author: Author,
    out: Path | None = None,
    directory: Path | None = None,
) -> BackupRef:
    """`create_backup` of the whole store: only reads it, in one snapshot."""
    check_text("label", label)
    check_author_fields(author)
    _check_schema()
    tables = flagramp_tables()
    specs = [TableSpec.of(table) for table in tables]
    now = store.clock.now()
    backup_id = _new_id(now)
    url = store.engine.url
    if out is None:
        folder = directory or backup_directory(
            url.render_as_string(hide_password=False)
        )
        out = folder / f"flagramp-{backup_id}{SUFFIX}"
    keyring = _keyring(store)
    try:
        with BackupWriter(out, now) as writer, read_snapshot(store.engine) as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            version = meta_int(conn, "version")
            entries = [
                writer.add_table(spec, table_rows(conn, table))
                for spec, table in zip(specs, tables, strict=True)
            ]
            report = verify_connection(conn, keyring)
            manifest = Manifest(
                id=backup_id,
                label=label,
                author=author.who,
                created_at=iso(now),
                flagramp_version=package_metadata.version("flagramp"),
                source=url.render_as_string(hide_password=True),
                schema_revision=str(revision),
                store_version=version,
                audit_head=report.head,
                audit_rows=report.rows,
                key_ids=report.key_ids,
                problems=tuple(str(p) for p in report.problems),
                tables=tuple(entries),
            )
            writer.finish(manifest)
    except SQLAlchemyError as exc:
        raise StoreError(f"no backup was written: {short_reason(exc)}") from exc
    return manifest_ref(manifest, out)


def restore_backup(
    store: SqlFlagStore, path: Path, *, author: Author, force: bool = False
) -> RestoreReport:
    """Replace everything in `store` with the backup at `path` (see the module
    docstring); nothing is written unless all of it is."""
    check_author_fields(author)
    with BackupReader(path) as reader:
        manifest = reader.manifest
        if not is_known_revision(manifest.schema_revision):
            raise BackupRevisionUnknown(manifest.schema_revision, head_revision())
        reader.check()
        keyring = _keyring(store)
        missing = [k for k in manifest.key_ids if keyring.key(k) is None]
        if missing:
            raise BackupKeyMissing(missing, keyring.source)
        _check_schema()
        ref = manifest_ref(manifest, path)
        same = manifest.schema_revision == head_revision()
        migrated_from = None if same else manifest.schema_revision
        try:
            with rows_at_head(reader) as source, begin_write(store.engine) as conn:
                tables = flagramp_tables()
                before = lock_target(conn, tables)
                if not before.is_empty and not force:
                    raise TargetNotEmpty(
                        before.version, before.audit_rows, list(before.filled)
                    )
                replace_rows(conn, tables, source)
                reset_sequences(conn, tables)
                report = verify_connection(conn, keyring)
                _check_verifies(report, manifest)
                version = max(before.version, manifest.store_version) + 1
                set_version(conn, version)
                # A new history: readers holding a version of the old one (or
                # of the backup's past) must reload, not resume (store/epochs.py).
                set_epoch(conn, new_epoch())
                unit = SqlUnitOfWork(conn, author, version, store.clock, keyring)
                unit.record(
                    DEFAULT_ENVIRONMENT,
                    BACKUP_KIND,
                    manifest.id,
                    "restore",
                    None if before.is_empty else before.summary(),
                    _restored(manifest, path),
                )
        except FlagrampError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"nothing was restored: {short_reason(exc)}") from exc
    return RestoreReport(
        backup=ref,
        replaced=None if before.is_empty else before,
        migrated_from=migrated_from,
        audit=report,
        version=version,
    )


def read_backup(path: Path) -> BackupRef:
    """The backup in a file, from its manifest (its rows are not read); raises
    BackupDamaged."""
    with BackupReader(path) as reader:
        return manifest_ref(reader.manifest, path)


def list_backups(directory: Path) -> list[BackupFile]:
    """The backup files in `directory`, oldest first; a file that is not a whole
    backup is listed with why (only manifests are read)."""
    if not directory.is_dir():
        return []
    found: list[BackupFile] = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            found.append(BackupFile(path, read_backup(path)))
        except BackupError as exc:
            detail = exc.detail if isinstance(exc, BackupDamaged) else str(exc)
            found.append(BackupFile(path, None, detail))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda f: (f.ref.created_at if f.ref else epoch, f.path))


def manifest_ref(manifest: Manifest, path: Path) -> BackupRef:
    """The reference of the backup a manifest describes."""
    return BackupRef(
        id=manifest.id,
        kind=BackupKind.FULL,
        label=manifest.label,
        author=manifest.author,
        created_at=dt.datetime.fromisoformat(manifest.created_at),
        store_version=manifest.store_version,
        rows=manifest.rows,
        checksum=manifest.checksum(),
        path=path,
        audit_head=manifest.audit_head,
    )


def _check_schema() -> None:
    undescribed = undescribed_tables()
    if undescribed:
        raise TablesNotDescribed(undescribed)
    unmigrated = unmigrated_tables()
    if unmigrated:
        raise BackupError(
            f"table(s) {', '.join(unmigrated)} are described on flagramp's metadata "
            "but no migration makes them"
        )


def _keyring(store: SqlFlagStore) -> AuditKeyring:
    if store.keyring.path is not None:  # a key file copied in since the store opened
        return AuditKeyring.from_file(store.keyring.path)
    return store.keyring


def _check_verifies(report: AuditReport, manifest: Manifest) -> None:
    # Rationale: a backup reproduces its store, damage included. What must not
    # happen is a problem the store did not have when the backup was made: rows
    # that did not arrive as they left (a database that changed a value).
    new = Counter(str(p) for p in report.problems) - Counter(manifest.problems)
    if new:
        first = next(iter(new))
        more = sum(new.values()) - 1
        raise BackupUnverified(first + (f" (and {more} more)" if more else ""))
    if (report.head, report.rows) != (manifest.audit_head, manifest.audit_rows):
        raise BackupUnverified(
            f"it ends in {report.head[:12]}… after {report.rows} rows, the backup's "
            f"in {manifest.audit_head[:12]}… after {manifest.audit_rows}"
        )


def _restored(manifest: Manifest, path: Path) -> dict[str, Json]:
    return {
        "label": manifest.label,
        "file": path.name,
        "created_at": manifest.created_at,
        "schema_revision": manifest.schema_revision,
        "store_version": manifest.store_version,
        "audit_head": manifest.audit_head,
        "audit_rows": manifest.audit_rows,
        "rows": manifest.rows,
        "checksum": manifest.checksum(),
    }
