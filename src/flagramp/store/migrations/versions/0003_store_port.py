"""Audit rows keyed by entity kind and key, keyed hashes, change-feed indexes,
and column types that hold every document on MySQL/MariaDB.

- `audit_log.entity` (`environment/flag/key`, ambiguous once environment names
  held `/`) becomes `entity_kind` + `entity_key`. Existing rows were all written
  as `f"{environment}/{kind}/{key}"` with their environment in its own column, so
  the split is exact.
- `audit_log.key_id`: the id of the key whose HMAC is the row's hash; NULL for
  rows from before (they keep their plain SHA-256 and stay verifiable).
- Indexes for the change feed (by store version, per environment) and history.
- MySQL/MariaDB: utf8mb4 with byte-for-byte comparison (`utf8mb4_bin`, as the
  other backends compare), LONGTEXT documents and LONGBLOB windows.

Revision ID: 0003_store_port
Revises: 0002_metric_windows
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_store_port"
down_revision = "0002_metric_windows"
branch_labels = None
depends_on = None

TABLES = ("store_meta", "environments", "flags", "segments", "audit_log")
MYSQL_TEXT_COLUMNS = {
    "store_meta": [("text_value", True)],
    "flags": [("state", False)],
    "segments": [("definition", False)],
    "audit_log": [("reason", False), ("before", True), ("after", True)],
}


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("entity_kind", sa.String(32), nullable=True))
        batch.add_column(sa.Column("entity_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
    _split_entities(bind)
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("entity_kind", existing_type=sa.String(32), nullable=False)
        batch.alter_column("entity_key", existing_type=sa.String(255), nullable=False)
        batch.drop_column("entity")
    op.create_index("ix_audit_log_version", "audit_log", ["store_version", "id"])
    op.create_index(
        "ix_audit_log_environment_version",
        "audit_log",
        ["environment", "store_version", "id"],
    )
    op.create_index(
        "ix_audit_log_entity",
        "audit_log",
        ["entity_kind", "environment", "entity_key", "id"],
    )
    if bind.dialect.name in ("mysql", "mariadb"):
        _mysql_types()


def _split_entities(bind: sa.Connection) -> None:
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("environment", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_kind", sa.String),
        sa.column("entity_key", sa.String),
    )
    rows = bind.execute(sa.select(log.c.id, log.c.environment, log.c.entity)).all()
    for row_id, environment, entity in rows:
        rest = entity[len(environment) + 1 :]
        kind, _, key = rest.partition("/")
        bind.execute(
            sa.update(log)
            .where(log.c.id == row_id)
            .values(entity_kind=kind, entity_key=key)
        )


def _mysql_types() -> None:
    # One ALTER per table: each one copies the table on MySQL/MariaDB.
    for table in (*TABLES, "metric_windows", "ingested_batches"):
        changes = ["CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"]
        for column, nullable in MYSQL_TEXT_COLUMNS.get(table, []):
            null = "NULL" if nullable else "NOT NULL"
            changes.append(f"MODIFY `{column}` LONGTEXT {null}")
        if table == "metric_windows":
            changes.append("MODIFY `data` LONGBLOB NOT NULL")
        op.execute(f"ALTER TABLE `{table}` " + ", ".join(changes))


def downgrade() -> None:
    # flagramp before 0003 cannot check a keyed hash: going down would turn every
    # keyed row into one that no longer verifies, so refuse while there are any.
    keyed = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM audit_log WHERE key_id IS NOT NULL")
    )
    if keyed.scalar_one():
        raise RuntimeError(
            "audit rows are signed with a key, which flagramp before migration "
            "0003 cannot verify: downgrade refused"
        )
    op.drop_index("ix_audit_log_entity", "audit_log")
    op.drop_index("ix_audit_log_environment_version", "audit_log")
    op.drop_index("ix_audit_log_version", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("entity", sa.String(300), nullable=True))
    log = sa.table(
        "audit_log",
        sa.column("environment", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_kind", sa.String),
        sa.column("entity_key", sa.String),
    )
    op.execute(
        sa.update(log).values(
            entity=log.c.environment + "/" + log.c.entity_kind + "/" + log.c.entity_key
        )
    )
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("entity", existing_type=sa.String(300), nullable=False)
        batch.drop_column("key_id")
        batch.drop_column("entity_key")
        batch.drop_column("entity_kind")
