"""Environment snapshots and backup schedules.

Revision ID: 0005_backups
Revises: 0004_ingest_scopes
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005_backups"
down_revision = "0004_ingest_scopes"
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
#: Names compare byte for byte and documents are LONGTEXT on MySQL/MariaDB, as in
#: every other flagramp table (migration 0003).
BINARY_COLLATION: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _document() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def upgrade() -> None:
    op.create_table(
        "environment_snapshots",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("label", _document(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("taken_at", sa.String(40), nullable=False),
        sa.Column("store_version", sa.BigInteger, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("segments", sa.Integer, nullable=False),
        sa.Column("document", _document(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_environment_snapshots"),
        **BINARY_COLLATION,
    )
    op.create_index(
        "ix_environment_snapshots_environment",
        "environment_snapshots",
        ["environment", "taken_at"],
    )
    op.create_table(
        "backup_schedules",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("label", _document(), nullable=False),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("daily_at", sa.String(5), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("once_at", sa.String(40), nullable=True),
        sa.Column("next_due", sa.String(40), nullable=True),
        sa.Column("last_backup", sa.String(64), nullable=True),
        sa.Column("last_done", sa.String(40), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_backup_schedules"),
        **BINARY_COLLATION,
    )


def downgrade() -> None:
    op.drop_table("backup_schedules")
    op.drop_index("ix_environment_snapshots_environment", "environment_snapshots")
    op.drop_table("environment_snapshots")
