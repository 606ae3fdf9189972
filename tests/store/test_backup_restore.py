"""What a full restore refuses, what it records, and that it is all or nothing:
a store in use, missing audit keys, rows that do not verify as backed up, a
backup from a newer flagramp; the restore's own audit row and store version."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.errors import (
    BackupKeyMissing,
    BackupRevisionUnknown,
    BackupUnverified,
    TargetNotEmpty,
)
from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.store import AuditKeyring, SqlFlagStore
from flagramp.store.backup_file import BackupReader, BackupWriter
from flagramp.store.backups import create_backup, restore_backup
from tests.conftest import SQL_BACKENDS, migrated_database
from tests.store.backup_fill import ALICE, contents, populate

KEY = "7a" * 32
OTHER_KEY = "3c" * 32


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlFlagStore]:
    """A SQLite store with history in two environments, signed with KEY."""
    monkeypatch.setenv("FLAGRAMP_AUDIT_KEY", KEY)
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'source.db'}")
    populate(store)
    yield store
    store.engine.dispose()


@pytest.fixture(params=SQL_BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    """An empty store on each backend, holding KEY."""
    with migrated_database(request, tmp_path) as url:
        store = SqlFlagStore.open(url, keyring=AuditKeyring.from_text(KEY, "test"))
        yield store
        store.engine.dispose()


def _backup(store: SqlFlagStore, folder: Path) -> Path:
    ref = create_backup(
        store, label="before the change", author=ALICE, directory=folder
    )
    assert ref.path is not None
    return ref.path


def _busy(store: SqlFlagStore, writes: int) -> None:
    store.create_flag(Flag("busy"), ALICE)
    for _ in range(writes // 2):
        store.change_flag("busy", ops.enable, ALICE)
        store.change_flag("busy", ops.disable, ALICE)


def test_a_store_in_use_is_refused_and_left_as_it_was(
    source: SqlFlagStore, target: SqlFlagStore, tmp_path: Path
) -> None:
    path = _backup(source, tmp_path)
    _busy(target, 4)
    before = contents(target.engine)
    with pytest.raises(TargetNotEmpty) as refused:
        restore_backup(target, path, author=ALICE)
    assert str(refused.value) == (
        "the target store is not empty (store version 5, 5 audit row(s), rows in "
        "audit_log, flags): restore with --force to replace everything in it"
    )
    assert contents(target.engine) == before


def test_force_replaces_a_store_in_use_and_its_version_only_moves_on(
    source: SqlFlagStore, target: SqlFlagStore, tmp_path: Path
) -> None:
    path = _backup(source, tmp_path)
    backed_up = source.version()
    _busy(target, 30)
    old_version, old_head = target.version(), target.verify_audit().head
    assert old_version > backed_up
    report = restore_backup(target, path, author=ALICE, force=True)
    assert report.replaced is not None and report.replaced.version == old_version
    # A reader resuming from any version it saw on the old store sees the restore.
    assert report.version == target.version() == old_version + 1
    [change] = target.changes_since(old_version)
    assert (change.kind, change.action, change.key) == (
        "backup",
        "restore",
        report.backup.id,
    )
    assert change.before == {
        "store_version": old_version,
        "audit_head": old_head,
        "audit_rows": 31,
        "tables": ["audit_log", "flags"],
    }
    assert isinstance(change.after, dict)
    assert change.after["audit_head"] == report.backup.audit_head
    assert target.get_flag("busy") is None
    assert [f.key for f in target.list_flags()] == ["vaos_requests"]
    assert target.verify_audit().ok


def test_an_empty_target_gets_the_whole_history_then_the_restore_row(
    source: SqlFlagStore, target: SqlFlagStore, tmp_path: Path
) -> None:
    path = _backup(source, tmp_path)
    history = source.audit_entries()
    report = restore_backup(target, path, author=ALICE)
    restored = target.audit_entries()
    assert restored[:-1] == history
    last = restored[-1]
    assert last.prev_hash == history[-1].hash == report.backup.audit_head
    assert (last.entity_kind, last.action, last.actor) == (
        "backup",
        "restore",
        ALICE.who,
    )
    assert last.store_version == history[-1].store_version + 1 == report.version
    assert report.replaced is None
    for environment in ("production", "qa"):
        assert target.list_flags(environment) == source.list_flags(environment)
        assert target.segments(environment) == source.segments(environment)


def test_without_the_audit_keys_nothing_is_restored(
    source: SqlFlagStore, tmp_path: Path
) -> None:
    path = _backup(source, tmp_path)
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    other = SqlFlagStore.open(
        url, keyring=AuditKeyring.from_text(OTHER_KEY, "the key file")
    )
    [key_id] = source.verify_audit().key_ids
    with pytest.raises(BackupKeyMissing) as refused:
        restore_backup(other, path, author=ALICE)
    assert str(refused.value).startswith(
        f"the backup's audit rows are signed with key(s) {key_id}, which the key "
        "file does not hold"
    )
    assert (other.version(), other.audit_entries()) == (0, [])
    other.engine.dispose()


def test_rows_that_do_not_verify_as_backed_up_leave_the_target_as_it_was(
    source: SqlFlagStore, target: SqlFlagStore, tmp_path: Path
) -> None:
    # Someone rewrote a reason in the source; a backup made where no key is
    # configured cannot see it, but the restore, holding the key, does.
    with source.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_log SET reason = 'nothing to see' WHERE id = 3")
        )
    keyless = SqlFlagStore(source.engine, keyring=AuditKeyring({}, "nowhere"))
    path = _backup(keyless, tmp_path)
    _busy(target, 2)
    before = contents(target.engine)
    with pytest.raises(BackupUnverified) as refused:
        restore_backup(target, path, author=ALICE, force=True)
    assert str(refused.value) == (
        "the restored audit log does not verify: audit row 3: its contents were edited"
    )
    assert contents(target.engine) == before


def test_a_damaged_source_restores_as_it_was_with_its_problems_said(
    source: SqlFlagStore, target: SqlFlagStore, tmp_path: Path
) -> None:
    # A backup reproduces its store, damage included: the same problems, no new.
    with source.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE flags SET state = REPLACE(state, '25.125', '100')")
        )
    problems = [str(p) for p in source.verify_audit().problems]
    assert len(problems) == 1
    report = restore_backup(target, _backup(source, tmp_path), author=ALICE)
    assert [str(p) for p in report.audit.problems] == problems
    assert [str(p) for p in target.verify_audit().problems] == problems


def test_a_backup_from_a_newer_flagramp_is_refused(
    source: SqlFlagStore, tmp_path: Path
) -> None:
    path = _backup(source, tmp_path)
    newer = tmp_path / "newer.zip"
    with BackupReader(path) as reader:
        manifest = dataclasses.replace(
            reader.manifest, schema_revision="0099_from_the_future"
        )
        with BackupWriter(newer, source.clock.now()) as writer:
            entries = tuple(
                writer.add_table(entry.spec, reader.rows(entry.spec.name))
                for entry in manifest.tables
            )
            writer.finish(dataclasses.replace(manifest, tables=entries))
    with pytest.raises(BackupRevisionUnknown, match="0099_from_the_future"):
        restore_backup(source, newer, author=ALICE, force=True)
