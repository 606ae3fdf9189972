"""A backup made at an older schema revision restores into a flagramp at a newer
one: loaded as it was made, then migrated, on every backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.store import SqlFlagStore
from flagramp.store.audit import GENESIS, legacy_hash
from flagramp.store.backup_codec import TableSpec
from flagramp.store.backup_file import BackupWriter, Manifest
from flagramp.store.backup_load import table_rows
from flagramp.store.backups import restore_backup
from flagramp.store.database import head_revision, migrate_to, open_engine
from flagramp.store.documents import canonical, flag_document
from tests.conftest import SQL_BACKENDS, migrated_database
from tests.store.backup_fill import ALICE

OLD = "0002_metric_windows"
NOW = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)


@pytest.fixture(params=SQL_BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        store = SqlFlagStore.open(url)
        yield store
        store.engine.dispose()


def _old_store(path: Path) -> sa.Engine:
    """A store as flagramp at revision 0002 wrote it: one flag, its unkeyed row
    with the entity as one `environment/kind/key` string."""
    engine = open_engine(f"sqlite:///{path}", migrate=False)
    with engine.begin() as conn:
        migrate_to(conn, OLD)
    state = canonical(flag_document(Flag("vaos", description="ü")))
    content = {
        "at": "2026-11-01T10:00:00.000000+00:00",
        "actor": "alice@va.gov",
        "reason": "",
        "environment": "production",
        "entity_kind": "flag",
        "entity_key": "vaos",
        "action": "create",
        "before": None,
        "after": state,
        "store_version": 1,
    }
    digest = legacy_hash(GENESIS, content)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (at, actor, reason, environment, entity, "
                "action, before, after, store_version, prev_hash, hash) VALUES "
                "(:at, :actor, :reason, :environment, 'production/flag/vaos', "
                ":action, :before, :after, :store_version, :prev, :hash)"
            ),
            {**content, "prev": GENESIS, "hash": digest},
        )
        conn.execute(
            sa.text(
                "INSERT INTO flags (environment, key, state, version, created_at, "
                "updated_at) VALUES ('production', 'vaos', :s, 1, 'x', 'x')"
            ),
            {"s": state},
        )
        conn.execute(
            sa.text("UPDATE store_meta SET int_value = 1 WHERE key = 'version'")
        )
        conn.execute(
            sa.text(
                "UPDATE store_meta SET int_value = 1, text_value = :h "
                "WHERE key = 'audit_head'"
            ),
            {"h": digest},
        )
    return engine


def _backup_as_an_older_flagramp_made_it(engine: sa.Engine, out: Path) -> None:
    reflected = sa.MetaData()
    with engine.connect() as conn:
        reflected.reflect(conn)
        tables = [t for t in reflected.sorted_tables if t.name != "alembic_version"]
        with BackupWriter(out, NOW) as writer:
            entries = tuple(
                writer.add_table(TableSpec.of(t), table_rows(conn, t)) for t in tables
            )
            head, rows = conn.execute(
                sa.text(
                    "SELECT text_value, int_value FROM store_meta "
                    "WHERE key = 'audit_head'"
                )
            ).one()
            writer.finish(
                Manifest(
                    id="20261130T220000Z-0ld0ld00",
                    label="from 0.0.9",
                    author="alice@va.gov",
                    created_at=NOW.isoformat(),
                    flagramp_version="0.0.9",
                    source="sqlite:///old.db",
                    schema_revision=OLD,
                    store_version=1,
                    audit_head=head,
                    audit_rows=rows,
                    key_ids=(),
                    problems=(),
                    tables=entries,
                )
            )


def test_an_older_backup_is_migrated_after_the_load(
    target: SqlFlagStore, tmp_path: Path
) -> None:
    old = _old_store(tmp_path / "old.db")
    path = tmp_path / "old-backup.zip"
    _backup_as_an_older_flagramp_made_it(old, path)
    old.dispose()
    report = restore_backup(target, path, author=ALICE)
    assert report.migrated_from == OLD
    assert report.audit.ok, report.audit.problems
    [legacy, restore] = target.audit_entries()
    assert (legacy.entity_kind, legacy.entity_key, legacy.key_id) == (
        "flag",
        "vaos",
        None,
    )
    assert (restore.entity_kind, restore.action) == ("backup", "restore")
    assert restore.key_id is not None and restore.prev_hash == legacy.hash
    assert target.require_flag("vaos").description == "ü"
    target.change_flag("vaos", ops.enable, ALICE)
    verified = target.verify_audit()
    assert verified.ok and verified.rows == 3
    assert verified.limits[0].startswith("1 row(s) (row 1) were written before the")
    with target.engine.connect() as conn:
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        assert revision.scalar_one() == head_revision()
