"""A backup taken while others write holds one moment of the store: every
table as of the same commit, on every backend."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.store import AuditKeyring, Author, SqlFlagStore
from flagramp.store.backup_file import BackupReader
from flagramp.store.backups import create_backup, restore_backup
from flagramp.store.window_tables import ingested_batches
from tests.conftest import SQL_BACKENDS, migrated_database

KEYRING = AuditKeyring.from_text("9d" * 32, "test")
WRITERS = 2


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        store = SqlFlagStore.open(url, keyring=KEYRING)
        for n in range(WRITERS):
            store.create_flag(Flag(f"flag-{n}"), Author("setup"))
        yield store
        store.engine.dispose()


def _write_until(store: SqlFlagStore, n: int, stop: threading.Event) -> None:
    # Each unit changes a flag and adds a row to another table: a backup that
    # read the two at different moments would hold one without the other.
    flip = (ops.enable, ops.disable)
    turn = 0
    while not stop.is_set():
        with store.unit_of_work(Author(f"writer-{n}")) as unit:
            unit.change_flag(f"flag-{n}", flip[turn % 2])
            unit.execute(
                ingested_batches.insert().values(
                    run=f"writer-{n}", batch_key=str(unit.write_version), windows=0
                )
            )
        turn += 1


def test_a_backup_during_writes_is_one_snapshot(
    store: SqlFlagStore, tmp_path: Path
) -> None:
    stop = threading.Event()
    writers = [
        threading.Thread(target=_write_until, args=(store, n, stop))
        for n in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    try:
        backups = [
            create_backup(
                store, label=f"b{i}", author=Author("ops"), directory=tmp_path
            )
            for i in range(3)
        ]
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    for ref in backups:
        assert ref.path is not None
        with BackupReader(ref.path) as reader:
            manifest = reader.manifest
            audit = list(reader.rows("audit_log"))
            batches = list(reader.rows("ingested_batches"))
        assert manifest.problems == ()
        versions = sorted(int(str(row[10])) for row in audit if row[2] != "setup")
        assert sorted(int(str(row[1])) for row in batches) == versions
        assert manifest.store_version == max(int(str(row[10])) for row in audit)
        assert manifest.audit_rows == len(audit)
    # …and each restores to a store whose flags equal their history.
    last = backups[-1]
    assert last.path is not None
    elsewhere = SqlFlagStore.open(
        f"sqlite:///{tmp_path / 'restored.db'}", keyring=KEYRING
    )
    assert restore_backup(elsewhere, last.path, author=Author("ops")).audit.ok
    with elsewhere.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(ingested_batches))
        assert count.scalar_one() == last.store_version - WRITERS
    elsewhere.engine.dispose()
