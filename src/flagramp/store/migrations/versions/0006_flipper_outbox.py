"""The outbox, mirror and adoptions for driving Flipper's own tables.

Flipper's tables (another database) are never created or changed by flagramp;
these three tables in flagramp's database carry what must be written there
(`store/flipper_outbox_tables.py`). On MySQL/MariaDB: utf8mb4, names compared byte
for byte, LONGTEXT documents, as migration 0003 made the other tables.

Revision ID: 0006_flipper_outbox
Revises: 0005_backups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006_flipper_outbox"
down_revision = "0005_backups"
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
MYSQL_TABLE: dict[str, object] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _name(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *MYSQL
    )


def _document() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def upgrade() -> None:
    op.create_table(
        "flipper_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment", _name(64), nullable=False),
        sa.Column("feature_key", _name(255), nullable=False),
        sa.Column("store_version", sa.BigInteger, nullable=False),
        sa.Column("target", _document(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", _document(), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("applied_at", sa.String(40), nullable=True),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_index(
        "ix_flipper_outbox_status", "flipper_outbox", ["environment", "status", "id"]
    )
    op.create_index(
        "ix_flipper_outbox_feature",
        "flipper_outbox",
        ["environment", "feature_key", "id"],
    )
    op.create_table(
        "flipper_mirror",
        sa.Column("environment", _name(64), primary_key=True),
        sa.Column("feature_key", _name(255), primary_key=True),
        sa.Column("rows", _document(), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_table(
        "flipper_adoptions",
        sa.Column("environment", _name(64), primary_key=True),
        sa.Column("flipper_url", _name(255), nullable=False),
        sa.Column("store_version", sa.BigInteger, nullable=False),
        sa.Column("adopted_at", sa.String(40), nullable=False),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )


def downgrade() -> None:
    op.drop_table("flipper_adoptions")
    op.drop_table("flipper_mirror")
    op.drop_index("ix_flipper_outbox_feature", "flipper_outbox")
    op.drop_index("ix_flipper_outbox_status", "flipper_outbox")
    op.drop_table("flipper_outbox")
