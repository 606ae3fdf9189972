"""A backup made on SQLite restores on PostgreSQL, then on MariaDB, then on SQLite
again: every table, every value, and `audit verify` passes each time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.errors import BackupError, TablesNotDescribed
from flagramp.core.flags import Flag, Segment
from flagramp.store import SqlFlagStore
from flagramp.store.backup_file import BackupReader
from flagramp.store.backups import create_backup, read_backup, restore_backup
from flagramp.store.database import head_revision
from flagramp.store.schema import flagramp_tables, migrated_tables
from flagramp.store.tables import metadata
from tests.conftest import empty_database
from tests.store.backup_fill import (
    ALICE,
    audit_prefix,
    contents,
    fill_generic,
    populate,
)

KEY = "5e" * 32


@pytest.fixture
def shared_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store in the test signs with (and holds) the same audit key."""
    monkeypatch.setenv("FLAGRAMP_AUDIT_KEY", KEY)


@pytest.fixture
def stores(tmp_path: Path, shared_key: None) -> Iterator[dict[str, SqlFlagStore]]:
    with ExitStack() as stack:
        opened: dict[str, SqlFlagStore] = {}
        for name, backend in [
            ("sqlite", "sqlite"),
            ("postgres", "postgres"),
            ("mariadb", "mariadb"),
            ("sqlite again", "sqlite"),
        ]:
            folder = tmp_path / name.replace(" ", "_")
            folder.mkdir()
            url = stack.enter_context(empty_database(backend, folder))
            store = SqlFlagStore.open(url)
            stack.callback(store.engine.dispose)
            opened[name] = store
        yield opened


def test_sqlite_to_postgres_to_mariadb_and_back_keeps_every_row(
    stores: dict[str, SqlFlagStore], tmp_path: Path
) -> None:
    source = stores["sqlite"]
    populate(source)
    fill_generic(source.engine)
    original = contents(source.engine)
    empty = [name for name, rows in original.items() if not rows]
    assert empty == [], f"fill the table(s) {empty} so that their values are checked"
    assert source.verify_audit().ok
    audit_rows = len(original["audit_log"])
    backup = create_backup(source, label="nightly", author=ALICE, directory=tmp_path)
    hops = ["postgres", "mariadb", "sqlite again"]
    for hop, name in enumerate(hops, start=1):
        target = stores[name]
        assert backup.path is not None
        report = restore_backup(target, backup.path, author=ALICE)
        assert report.audit.ok, (name, report.audit.problems)
        assert report.replaced is None
        verified = target.verify_audit()
        assert verified.ok, (name, verified.problems)
        assert verified.limits == ()
        # The backup's rows, then one restore row per hop so far.
        assert verified.rows == audit_rows + hop
        now = contents(target.engine)
        for table, rows in original.items():
            if table in ("store_meta", "audit_log"):
                continue
            assert now[table] == rows, (name, table)
        assert audit_prefix(now, audit_rows) == audit_prefix(original, audit_rows)
        restore_row = target.audit_entries()[-1]
        assert (restore_row.entity_kind, restore_row.action) == ("backup", "restore")
        assert restore_row.entity_key == backup.id
        assert restore_row.store_version == backup.store_version + 1
        backup = create_backup(
            target, label=f"hop {hop}", author=ALICE, directory=tmp_path
        )
        # New rows get ids after the restored ones (PostgreSQL's sequences).
        target.put_segment(Segment.from_rules(f"s{hop}", ["a == b"]), ALICE)
        target.create_flag(Flag(f"after-{hop}", eligibility=f"s{hop}"), ALICE)
        assert target.verify_audit().ok


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[SqlFlagStore]:
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    yield store
    store.engine.dispose()


def test_every_table_the_migrations_make_is_in_a_backup(
    fresh: SqlFlagStore, tmp_path: Path
) -> None:
    # The test that fails when a table is left out: a backup holds exactly the
    # tables flagramp's migrations make, and each is described on the metadata.
    backup = create_backup(fresh, label="fresh", author=ALICE, directory=tmp_path)
    assert backup.path is not None
    made = set(migrated_tables(head_revision()))
    assert {t.name for t in flagramp_tables()} == made
    assert read_backup(backup.path) == backup
    with BackupReader(backup.path) as reader:
        assert {t.spec.name for t in reader.manifest.tables} == made


def test_a_table_the_metadata_lacks_refuses_the_backup(
    fresh: SqlFlagStore, tmp_path: Path
) -> None:
    # As if a layer described its table in a module this process never imported.
    hidden = metadata.tables["backup_schedules"]
    metadata.remove(hidden)
    try:
        with pytest.raises(TablesNotDescribed) as refused:
            create_backup(fresh, label="x", author=ALICE, directory=tmp_path)
    finally:
        metadata._add_table(hidden.name, hidden.schema, hidden)  # the same object back
    assert str(refused.value).startswith(
        "flagramp's migrations make table(s) backup_schedules, which no module "
        "loaded here describes"
    )
    assert list(tmp_path.glob("*.zip")) == []


def test_a_described_table_no_migration_makes_refuses_the_backup(
    fresh: SqlFlagStore, tmp_path: Path
) -> None:
    stray = sa.Table("stray", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        with pytest.raises(BackupError, match=r"table\(s\) stray are described"):
            create_backup(fresh, label="x", author=ALICE, directory=tmp_path)
    finally:
        metadata.remove(stray)
    assert "stray" not in {t.name for t in flagramp_tables()}
